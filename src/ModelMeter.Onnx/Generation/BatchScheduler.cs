using System.Threading.Channels;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// Continuous batching for one model: requests join the running batch at the next step, every step decodes all rows (in
/// one forward pass, or one per group of like lengths: <see cref="OnnxCausalLm.DecodeSteps"/>), and finished or cancelled rows leave at the next step. A joining prompt is computed in chunks of at
/// most <c>prefillChunkTokens</c> per turn of the loop, interleaved with the decode steps, so that the rows already
/// decoding keep their pace (with no row decoding it is computed whole). One loop thread computes; requests await their
/// tokens. At most <c>maxBatch</c> rows run, and only while their padded batch holds at most <c>maxBatchTokens</c>
/// tokens of cache (each row counts its prompt plus its token limit, and a batch is as long as its longest row); the model's admission gate keeps the rest
/// waiting (uncharged) outside, and the scheduler holds back any that would still exceed them.
/// A row belongs to the request that reads its tokens: when that reader stops for any reason (end of text, a stop
/// string, the client gone, an exception) the row leaves before the next step, so no step computes for no one.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly OnnxCausalLm _model;
    private readonly int _maxBatch;
    private readonly long _maxBatchTokens;
    private readonly int _prefillChunkTokens;
    private readonly Channel<Pending> _incoming = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _loop;
    private readonly Action<int>? _onStep;
    private readonly Action<int>? _onRunning;
    private readonly Action<int>? _onWithoutOwner;
    private readonly Action<double>? _onStepSeconds;
    private readonly DeviceTurns.Seat _seat;
    private readonly TimeProvider _time;
    private readonly TimeSpan _joinWindow;
    private readonly object _arrivals = new(); // pulsed on each arrival, for the loop waiting in the join window
    private int _queued;
    private long _arrived; // requests ever queued: the join window counts those that came after rows finished
    private long _steps;
    private long _rowsWithoutOwner;
    private int _running;
    private volatile bool _stopping;

    /// <param name="model">A model with a key/value cache.</param>
    /// <param name="maxBatch">The most rows in one step.</param>
    /// <param name="maxBatchTokens">The most tokens of cache the rows' padded batch may hold (rows × the longest row's prompt plus token limit); a larger request runs alone.</param>
    /// <param name="onStep">Told the number of rows of each step (for the batch-size histogram).</param>
    /// <param name="onRunning">Told the number of running rows whenever it changes.</param>
    /// <param name="onWithoutOwner">Told of row-steps computed for a request that had ended before the step began (a leak: never expected).</param>
    /// <param name="onStepSeconds">Told the seconds each turn of the loop that computed held the device (prefills of joining rows and the decode step).</param>
    /// <param name="time">Times the steps; the system clock by default.</param>
    /// <param name="prefillChunkTokens">The most prompt tokens computed in one turn of the loop while other rows decode.</param>
    /// <param name="joinWindow">When two or more rows finished in one step, or one a step after others while no row decodes, how long the next turn waits for as many requests to arrive (as room allows; with an empty batch, from the first arrival); <see cref="DefaultJoinWindow"/> unless given, zero never waits.</param>
    /// <param name="turns">
    /// The model's place among the models taking turns on its device (<see cref="DeviceTurns.Join"/>, which also reports its
    /// work for the device's split and how long its turns waited); each turn of the loop (prefills of joining rows and the
    /// decode step) is one of its turns. Null: the model is alone.
    /// </param>
    public BatchScheduler(
        OnnxCausalLm model, int maxBatch, long maxBatchTokens = long.MaxValue, Action<int>? onStep = null, Action<int>? onRunning = null, Action<int>? onWithoutOwner = null,
        Action<double>? onStepSeconds = null, TimeProvider? time = null, int prefillChunkTokens = DefaultPrefillChunkTokens, TimeSpan? joinWindow = null, DeviceTurns.Seat? turns = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _joinWindow = joinWindow ?? DefaultJoinWindow;
        ArgumentOutOfRangeException.ThrowIfLessThan(_joinWindow, TimeSpan.Zero, nameof(joinWindow));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_joinWindow, TimeSpan.FromMinutes(1), nameof(joinWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefillChunkTokens, 1);
        _prefillChunkTokens = prefillChunkTokens;
        _model = model;
        _maxBatch = maxBatch;
        _maxBatchTokens = maxBatchTokens;
        _onStep = onStep;
        _onRunning = onRunning;
        _onWithoutOwner = onWithoutOwner;
        _onStepSeconds = onStepSeconds;
        _seat = turns ?? new DeviceTurns().Join();
        _time = time ?? TimeProvider.System;
        _loop = new Thread(Run) { IsBackground = true, Name = "ModelMeter batch scheduler" };
        _loop.Start();
    }

    /// <summary>The prompt tokens computed per turn while other rows decode, unless configured.</summary>
    public const int DefaultPrefillChunkTokens = 24;

    /// <summary>
    /// A turn computes at least this many prompt tokens per decoding row: a decode pass over more rows takes longer, so a
    /// chunk as large in proportion keeps the streams' gaps as even, in fewer passes over the weights (each costs about a
    /// one-row step: 11 ms of demo-large's 17 ms for 16 tokens). With 6 rows this is the default chunk of 24; with 16, 64.
    /// </summary>
    public const int PrefillTokensPerDecodingRow = 4;

    /// <summary>
    /// What a forward pass costs, in prompt tokens: prompts computed together are left-padded to the longest of their pass,
    /// and a padded position costs what a prompt token does, so prompts are cut into passes at the least cost of passes plus
    /// padding. Demo-large on the Zen 3 VM: one prompt of 4 tokens took 21.9 ms, the same pass as 32 tokens in a large
    /// pass (16 prompts of 96: 1,029 ms, 0.67 ms a token). A wave of 16 clients' prompts of 4, 16, 48 and 96 tokens now
    /// takes four passes without padding (258, 131, 59 and 31 ms) where a rule of at most a quarter padding took two
    /// 48s into the 96s' pass and a 4 into the 16s' (387 ms and 71 ms for those two; docs/benchmarks.md).
    /// </summary>
    public const int PrefillPassTokens = 32;

    /// <summary>
    /// Prompts joining rows that decode wait for those rows to end when they end within this many times the turns the
    /// prompts would take in chunks beside them and no fewer rows decode than wait (<see cref="WaitsForTheDecodingRows"/>). 16 clients of demo-large that
    /// began in two groups 1.2 s apart (bench/load/stagger.sh) stayed out of step without it, at 184-201 tokens/s; with
    /// it they fell into step within a few rounds in most runs, at 230-274 (195 in one run where the rows had spread out
    /// one finishing a turn, which neither rule pulls back; docs/benchmarks.md).
    /// </summary>
    public const int HoldTurnsPerPrefillTurn = 2;

    /// <summary>
    /// How long the turn after two or more rows finished together waits for their clients' next requests (as many as
    /// finished, as room allows), unless configured; rows still decoding wait with it. After one row finished a turn after
    /// others did, it waits too when no row decodes (only prompts wait with it), for the clients of both turns: the last
    /// row of a group a step behind the rest would otherwise miss the turn that computes the others' next prompts, and stay
    /// a step behind. Over HTTP, 16 clients that finished in
    /// one step sent again within 1-2 ms of each other, and a turn that began with the first of them split them: each later
    /// one joined a step behind, its prompt computed in passes of its own, and they never fell into step again
    /// (demo-large, MaxBatch 16, 16 clients, side by side: 249-340 tokens/s without the window, in step in one run of four;
    /// 324-375 with it; docs/benchmarks.md).
    /// </summary>
    public static readonly TimeSpan DefaultJoinWindow = TimeSpan.FromMilliseconds(10);

    /// <summary>The most rows in one step.</summary>
    public int MaxBatch => _maxBatch;

    /// <summary>The most tokens of cache the rows' padded batch may hold (rows × the longest).</summary>
    public long MaxBatchTokens => _maxBatchTokens;

    /// <summary>Rows running now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Row-steps computed for a request that had ended before the step began; 0 unless a row leaks.</summary>
    public long RowsWithoutOwner => Interlocked.Read(ref _rowsWithoutOwner);

    /// <summary>
    /// The generated tokens of one request, each as soon as its step ends; end-of-text ends the sequence. The row lives
    /// as long as this enumeration: stop reading (or dispose it) and the row leaves the batch before the next step.
    /// </summary>
    public async IAsyncEnumerable<int> GenerateTokensAsync(
        IReadOnlyList<int> promptIds, GenerationRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var owner = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = new Pending(promptIds, request, tokens.Writer, owner.Token);
        try
        {
            Interlocked.Increment(ref _queued); // before the write: the loop's read after it never counts below zero
            try
            {
                await _incoming.Writer.WriteAsync(pending, cancellationToken);
            }
            catch
            {
                Interlocked.Decrement(ref _queued);
                throw;
            }

            Interlocked.Increment(ref _arrived); // before the pulse, as the queued count
            lock (_arrivals)
            {
                Monitor.PulseAll(_arrivals);
            }

            await foreach (var token in tokens.Reader.ReadAllAsync(cancellationToken))
            {
                yield return token;
            }
        }
        finally
        {
            // Cancel first, then note the step: a row the loop still steps after this note was already past its check.
            await owner.CancelAsync();
            pending.Leave(Interlocked.Read(ref _steps));
        }
    }

    /// <summary>
    /// Stops taking requests, ends the rows still running or waiting (their readers get an <see cref="OperationCanceledException"/>)
    /// and waits for the loop's current step, so that the model can be disposed after: a step must never run on a disposed model.
    /// </summary>
    public void Dispose()
    {
        _stopping = true;
        _incoming.Writer.TryComplete();
        lock (_arrivals)
        {
            Monitor.PulseAll(_arrivals); // out of the join window at once
        }

        if (Thread.CurrentThread != _loop)
        {
            _loop.Join(TimeSpan.FromSeconds(30));
        }
    }

    private void Run()
    {
        var running = new List<(DecodeRow Row, Pending Request, int Sent)>();
        // Rows that left in the last turn and in the one before; the arrivals counted before each of those turns ended.
        var (finished, finishedBefore, arrivedBy, arrivedBefore) = (0, 0, 0L, 0L);
        while (true)
        {
            if (_stopping || (running.Count == 0 && !_incoming.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()))
            {
                var stopped = new OperationCanceledException("The model is stopping.");
                Leave(running, (_, _) => true, stopped);
                while (_incoming.Reader.TryRead(out var waiting))
                {
                    waiting.Output.TryComplete(stopped);
                }

                return;
            }

            // The clients of two or more rows that finished together send again at about the same time: their next requests
            // belong in the turn to come. So do those of one row that finished a turn after others, when only prompts wait (no
            // stream stalls for it): the window waits for the clients of both turns.
            var room = _maxBatch - running.Count;
            if (room > 0 && finished >= 2)
            {
                AwaitJoiners(Math.Min(finished, room), arrivedBy, room);
            }
            else if (room > 0 && finished == 1 && finishedBefore > 0 && running.All(r => r.Row.Prefilling))
            {
                AwaitJoiners(Math.Min(finishedBefore + 1, _maxBatch), arrivedBefore, room);
            }

            var longest = running.Count == 0 ? 0 : running.Max(r => r.Request.Tokens);
            while (running.Count < _maxBatch && _incoming.Reader.TryPeek(out var next) && (running.Count == 0 || PaddedBatch.Fits(running.Count + 1, Math.Max(longest, next.Tokens), _maxBatchTokens)))
            {
                _incoming.Reader.TryRead(out var pending);
                Interlocked.Decrement(ref _queued);
                if (Join(pending!) is { } row)
                {
                    running.Add((row, pending!, 0)); // its prompt is computed in the turns to come, then its tokens go out
                    longest = Math.Max(longest, pending!.Tokens);
                }
            }

            Count(running);

            var step = Interlocked.Increment(ref _steps);
            Leave(running, (_, request) => request.Cancellation.IsCancellationRequested); // owners gone since the last step
            try
            {
                // A row whose prompt is done in this turn decodes from the next: its last chunk and the batch's regathered
                // cache would make one turn twice as long for the streams already running.
                var stepped = running.Where(r => !r.Row.Finished && !r.Row.Prefilling).ToList();
                int prefilled;
                long held; // when the device became this model's: a turn of another model on it may end first
                using (_seat.Take())
                {
                    held = _time.GetTimestamp();
                    prefilled = Prefill(running);
                    foreach (var pass in _model.DecodeSteps([.. stepped.Select(r => r.Row)]))
                    {
                        _onStep?.Invoke(pass);
                    }
                }

                if (stepped.Count > 0 || prefilled > 0)
                {
                    var ended = _time.GetTimestamp();
                    var turn = _time.GetElapsedTime(held, ended).TotalSeconds;
                    _onStepSeconds?.Invoke(turn);
                }

                var orphans = stepped.Count(r => r.Request.LeftAt is { } left && left < step);
                if (orphans > 0)
                {
                    Interlocked.Add(ref _rowsWithoutOwner, orphans);
                    _onWithoutOwner?.Invoke(orphans);
                }
            }
            catch (Exception e)
            {
                foreach (var (row, request, _) in running)
                {
                    request.Output.TryComplete(e);
                    row.Dispose();
                }

                running.Clear();
                Count(running);
                continue;
            }

            (arrivedBefore, arrivedBy) = (arrivedBy, Interlocked.Read(ref _arrived)); // before any client has the tokens that end its row
            for (var i = running.Count - 1; i >= 0; i--)
            {
                var (row, request, sent) = running[i];
                for (; sent < row.Generated.Count; sent++)
                {
                    request.Output.TryWrite(row.Generated[sent]);
                }

                running[i] = (row, request, sent);
            }

            var before = running.Count;
            Leave(running, (row, request) => row.Finished || request.Cancellation.IsCancellationRequested);
            (finishedBefore, finished) = (finished, before - running.Count);
        }
    }

    /// <summary>
    /// Waits up to the join window until <paramref name="count"/> requests have arrived since the arrivals numbered
    /// <paramref name="since"/> (those of the finished rows' clients), or until <paramref name="room"/> are queued (more
    /// could not join), so that the clients of rows that finished together join together. Timed by the real clock, not the
    /// billing one: it is a scheduling delay (the rows in flight are charged for it as for any gap between turns: the
    /// models with rows on the device share it).
    /// </summary>
    private void AwaitJoiners(int count, long since, int room)
    {
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_arrivals) // an arrival's counts go up before its pulse, and they are read under the lock: no pulse is missed
        {
            TimeSpan waited;
            while (Interlocked.Read(ref _arrived) - since < count && Volatile.Read(ref _queued) < room && !_stopping
                && (waited = System.Diagnostics.Stopwatch.GetElapsedTime(began)) < _joinWindow)
            {
                Monitor.Wait(_arrivals, _joinWindow - waited);
            }
        }
    }

    /// <summary>Removes the rows that <paramref name="leaves"/>, completing their token streams (with <paramref name="error"/> if given).</summary>
    private void Leave(List<(DecodeRow Row, Pending Request, int Sent)> running, Func<DecodeRow, Pending, bool> leaves, Exception? error = null)
    {
        for (var i = running.Count - 1; i >= 0; i--)
        {
            var (row, request, _) = running[i];
            if (leaves(row, request))
            {
                request.Output.TryComplete(error ?? (request.Cancellation.IsCancellationRequested ? new OperationCanceledException(request.Cancellation) : null));
                row.Dispose();
                running.RemoveAt(i);
            }
        }

        Count(running);
    }

    private void Count(List<(DecodeRow Row, Pending Request, int Sent)> running)
    {
        if (Interlocked.Exchange(ref _running, running.Count) != running.Count)
        {
            _onRunning?.Invoke(running.Count);
        }
    }

    /// <summary>A row for a new request, its prompt not computed yet; null when the request is already gone.</summary>
    private DecodeRow? Join(Pending pending)
    {
        if (pending.Cancellation.IsCancellationRequested)
        {
            pending.Output.TryComplete(new OperationCanceledException(pending.Cancellation));
            return null;
        }

        try
        {
            return _model.BeginRow(pending.PromptIds, pending.Request);
        }
        catch (Exception e)
        {
            pending.Output.TryComplete(e);
            return null;
        }
    }

    /// <summary>
    /// Computes the prompts of the rows still prefilling, within <see cref="_prefillChunkTokens"/> tokens in all (or <see cref="PrefillTokensPerDecodingRow"/> per decoding row when that is more) while some
    /// row decodes (all of them when none does): first, rows whose whole prompts fit and have not begun are computed
    /// together, in the passes that cost least (<see cref="PrefillPassTokens"/>: prompts sorted longest first and cut into
    /// runs of like lengths, <see cref="OnnxCausalLm.PlanPasses"/>, each run within the turn's tokens); then chunks, oldest first. A row
    /// whose prompt fails leaves with the error; the others go on. Returns the prompt tokens computed.
    /// </summary>
    private int Prefill(List<(DecodeRow Row, Pending Request, int Sent)> running)
    {
        var decoding = running.Count(r => !r.Row.Prefilling && !r.Row.Finished);
        var budget = decoding > 0 ? Math.Max(_prefillChunkTokens, PrefillTokensPerDecodingRow * decoding) : int.MaxValue;
        if (decoding > 0 && WaitsForTheDecodingRows(running, budget))
        {
            return 0;
        }

        var fed = 0;
        var fresh = running.Where(r => r.Row.Prefilling && r.Row.PromptLeft == r.Row.PromptLength && r.Row.PromptLeft <= budget)
            .OrderByDescending(r => r.Row.PromptLength).ToList();
        var first = 0;
        foreach (var count in OnnxCausalLm.PlanPasses([.. fresh.Select(r => (long)r.Row.PromptLength)], PrefillPassTokens, 1, budget))
        {
            var together = fresh.GetRange(first, count);
            first += count;
            var tokens = together.Sum(r => r.Row.PromptLength);
            if (count == 1 || tokens > budget)
            {
                continue; // in chunks below, as room allows
            }

            try
            {
                _model.PrefillTogether([.. together.Select(r => r.Row)]); // short: no one request's cancellation stops the others
                (budget, fed) = (budget - tokens, fed + tokens);
            }
            catch (Exception e)
            {
                // Which prompt failed is not known: each of them leaves with the error.
                foreach (var (row, request, _) in together)
                {
                    request.Output.TryComplete(e);
                    row.Dispose();
                    running.RemoveAll(r => r.Row == row);
                }
            }
        }

        for (var i = 0; i < running.Count && budget > 0; i++)
        {
            var (row, request, _) = running[i];
            if (!row.Prefilling)
            {
                continue;
            }

            try
            {
                var chunk = _model.PrefillChunk(row, budget, request.Cancellation);
                (budget, fed) = (budget - chunk, fed + chunk);
            }
            catch (Exception e)
            {
                request.Output.TryComplete(e);
                row.Dispose();
                running.RemoveAt(i--);
            }
        }

        return fed;
    }

    /// <summary>
    /// Whether the prompts still to compute wait for the rows decoding now to end: when the longest of those rows ends within
    /// the turns the prompts would take in chunks beside them, or within <see cref="HoldTurnsPerPrefillTurn"/> times those
    /// turns when the rows decoding are at least as many as the rows waiting. Each chunk's turn pays a pass over the weights
    /// of its own (as a turn of the smaller batch does while the prompts wait), and rows that begin while others are halfway
    /// stay out of step with them: they finish apart, their clients come back apart, and every round pays for its prompts in
    /// chunks again. Waiting, the prompts are computed whole in the turn after the rows end, together with those rows'
    /// clients' next prompts (the join window gathers them), and all decode as one batch. Waiting longer than the chunks
    /// would take does not pay when more rows wait than decode: 12 rows whose clients came back late waited 31 turns
    /// beside 4 (under load, when only 4 of 16 clients were back within the join window).
    /// </summary>
    private static bool WaitsForTheDecodingRows(List<(DecodeRow Row, Pending Request, int Sent)> running, int budget)
    {
        var (prompts, waiting, decoding, longest) = (0L, 0, 0, 0);
        foreach (var (row, _, _) in running)
        {
            if (row.Prefilling)
            {
                (prompts, waiting) = (prompts + row.PromptLeft, waiting + 1);
            }
            else if (!row.Finished)
            {
                (decoding, longest) = (decoding + 1, Math.Max(longest, row.TokensLeft));
            }
        }

        var chunkTurns = (prompts + budget - 1) / budget;
        return longest <= chunkTurns || (longest <= HoldTurnsPerPrefillTurn * chunkTurns && decoding >= waiting);
    }

    private sealed record Pending(IReadOnlyList<int> PromptIds, GenerationRequest Request, ChannelWriter<int> Output, CancellationToken Cancellation)
    {
        private long _leftAt = -1;

        /// <summary>The cache the row may grow to: its prompt plus its token limit.</summary>
        public long Tokens { get; } = Math.Max(PromptIds.Count, 1) + (long)Request.MaxTokens;

        /// <summary>The number of steps begun when the request stopped reading; null while it reads.</summary>
        public long? LeftAt => Interlocked.Read(ref _leftAt) is >= 0 and var left ? left : null;

        public void Leave(long steps) => Interlocked.Exchange(ref _leftAt, steps);
    }
}
