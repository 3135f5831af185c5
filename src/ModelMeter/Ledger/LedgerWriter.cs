using System.Threading.Channels;

namespace ModelMeter.Ledger;

/// <summary>
/// Writes ledger rows in batches from a bounded queue with one writer loop. <see cref="LedgerDurability.Strict"/>:
/// a caller waits until its row is committed; rows that arrive while a batch commits go into the next
/// batch (group commit). <see cref="LedgerDurability.Relaxed"/>: callers do not wait; the loop commits
/// every flush interval and keeps rows it could not write for the next try.
/// </summary>
public sealed class LedgerWriter : ILedgerRecorder, IAsyncDisposable
{
    private const int MaxBatch = 4096;
    private const int MaxRetained = 1_000_000;

    private readonly ILedgerStore _store;
    private readonly LedgerDurability _durability;
    private readonly TimeSpan _flushInterval;
    private readonly Action<Exception>? _onError;
    private readonly Action<string, int, string>? _onDropped;
    private readonly TimeSpan _commitTimeout;
    private readonly TimeProvider _time;
    private readonly Channel<Entry> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Entry> _retained = [];
    private Task? _loop;
    private volatile bool _healthy = true;
    private long _nextProbeTicks;
    private int _probing;

    /// <param name="store">Where rows go; initialized already.</param>
    /// <param name="options">Durability, flush interval, queue capacity and commit timeout.</param>
    /// <param name="onError">Told about every failed write (for logging).</param>
    /// <param name="onDropped">Told about rows given up (kind <c>request</c> or <c>idle</c>, count, why): for counting and logging; none go silently.</param>
    /// <param name="time">The clock of the flush interval, the commit timeout and the probe's wait; the system's when null.</param>
    public LedgerWriter(
        ILedgerStore store, LedgerWriterOptions options, Action<Exception>? onError = null, Action<string, int, string>? onDropped = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _store = store;
        _durability = options.Durability;
        _flushInterval = options.FlushInterval;
        _onError = onError;
        _onDropped = onDropped;
        _commitTimeout = options.CommitTimeout ?? TimeSpan.FromSeconds(10);
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(options.Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The status a request row is written with when its Strict caller stopped waiting for its commit (and refused the request).</summary>
    public const string AbandonedStatus = "ledger_unavailable";

    /// <summary>How long after the ledger fails (and after each probe) the next probe may try it again.</summary>
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    /// <summary>False from a failed write until a write succeeds.</summary>
    public bool IsHealthy => _healthy;

    /// <summary>
    /// Whether a <see cref="LedgerDurability.Strict"/> request may run: always while the ledger is healthy; while it is not,
    /// one request at a time (the probe), at least <see cref="RetryAfterFailure"/> after the last failure, whose commit tells
    /// whether the ledger is back. The probe holds <paramref name="probe"/> until its commit is done. Relaxed always admits.
    /// </summary>
    public bool TryAdmit(out IDisposable? probe)
    {
        probe = null;
        if (_healthy || _durability == LedgerDurability.Relaxed)
        {
            return true;
        }

        if (_time.GetTimestamp() < Interlocked.Read(ref _nextProbeTicks) || Interlocked.CompareExchange(ref _probing, 1, 0) != 0)
        {
            return false;
        }

        probe = new Probe(this);
        return true;
    }

    /// <summary>The durability mode.</summary>
    public LedgerDurability Durability => _durability;

    /// <summary>Starts the writer loop.</summary>
    public void Start() => _loop ??= Task.Run(RunAsync);

    /// <summary>
    /// Queues a request row. In <see cref="LedgerDurability.Strict"/> mode completes when the row is committed and
    /// throws <see cref="LedgerUnavailableException"/> when it cannot be.
    /// </summary>
    public async ValueTask RecordAsync(LedgerRow row, CancellationToken cancellationToken = default)
    {
        if (_durability == LedgerDurability.Relaxed)
        {
            await _queue.Writer.WriteAsync(new Entry(row, null, null), cancellationToken);
            return;
        }

        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entry = new Entry(row, null, committed) { Claim = new CommitClaim() };
        await _queue.Writer.WriteAsync(entry, cancellationToken);
        try
        {
            await committed.Task.WaitAsync(_commitTimeout, _time, cancellationToken);
        }
        catch (TimeoutException e) when (entry.Claim.TryAbandon())
        {
            // A commit that hangs must not hang the request: it is refused, and its row, still queued, is written as
            // failed (never as an answer that was not given). A row whose commit had begun is waited for instead.
            throw new LedgerUnavailableException($"The ledger did not commit within {_commitTimeout.TotalSeconds:0.#} s.", e) { RowKept = true };
        }
        catch (TimeoutException)
        {
            await committed.Task;
        }
    }

    /// <summary>
    /// Queues a row that nobody waits for and that is kept until it can be written, in either mode: the row of a
    /// request whose own commit failed, recorded as failed so that request rows plus idle rows still equal the bill.
    /// </summary>
    public ValueTask RecordDeferredAsync(LedgerRow row) => _queue.Writer.WriteAsync(new Entry(row, null, null));

    /// <summary>Queues an idle row; never waits for its commit.</summary>
    public ValueTask RecordIdleAsync(IdleRow row) => _queue.Writer.WriteAsync(new Entry(null, row, null));

    /// <summary>Queues idle rows and waits until they are committed (for a report that must include them).</summary>
    public async Task RecordIdleAndWaitAsync(IEnumerable<IdleRow> rows)
    {
        var commits = new List<Task>();
        foreach (var row in rows)
        {
            var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await _queue.Writer.WriteAsync(new Entry(null, row, committed));
            commits.Add(committed.Task);
        }

        await Task.WhenAll(commits);
    }

    /// <summary>Stops taking rows and waits until every queued row is written (or given up).</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        _stopping.Dispose();
    }

    private async Task RunAsync()
    {
        var batch = new List<Entry>(MaxBatch);
        while (true)
        {
            var more = _retained.Count > 0 || await _queue.Reader.WaitToReadAsync();
            if (!more && _retained.Count == 0)
            {
                return;
            }

            if ((_durability == LedgerDurability.Relaxed || _retained.Count > 0) && !_stopping.IsCancellationRequested)
            {
                await Task.Delay(_flushInterval, _time, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            batch.Clear();
            batch.AddRange(_retained);
            _retained.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var entry))
            {
                if (entry.Claim is { } claim && !claim.TryTake())
                {
                    // A Strict caller that gave up waiting answered 503: its row is kept as failed, with nobody to tell; a
                    // provisional row is only a placeholder (its request's final row follows), so it is not written at all.
                    if (!entry.Request!.IsProvisional)
                    {
                        batch.Add(new Entry(entry.Request with { Status = AbandonedStatus }, null, null));
                    }

                    continue;
                }

                batch.Add(entry);
            }

            // Whether this attempt is already part of shutting down: only then may its failure drop rows.
            var finalAttempt = _stopping.IsCancellationRequested && _queue.Reader.Completion.IsCompleted;
            if (batch.Count > 0)
            {
                Write(batch);
            }

            if (finalAttempt && _retained.Count > 0)
            {
                // Shutting down and the store still fails: nothing more can be done for these rows.
                FailAll(_retained, new LedgerUnavailableException("The ledger was stopped before these rows could be written."));
                Dropped(_retained, "the server stopped while the ledger could not write");
                _retained.Clear();
            }
        }
    }

    /// <summary>The timestamp (of <see cref="_time"/>) before which no probe may try the failing ledger.</summary>
    private long NextProbe() => _time.GetTimestamp() + (long)(RetryAfterFailure.TotalSeconds * _time.TimestampFrequency);

    private void Write(List<Entry> batch)
    {
        try
        {
            _store.Append(
                batch.Where(e => e.Request is not null).Select(e => e.Request!).ToList(),
                batch.Where(e => e.Idle is not null).Select(e => e.Idle!).ToList());
            _healthy = true;
            foreach (var entry in batch)
            {
                entry.Committed?.TrySetResult();
            }
        }
        catch (Exception e)
        {
            if (_healthy)
            {
                // Only the fall from healthy starts the wait for the first probe: retried idle rows failing do not push it on.
                Interlocked.Exchange(ref _nextProbeTicks, NextProbe());
            }

            _healthy = false;
            _onError?.Invoke(e);
            var failure = new LedgerUnavailableException("The ledger could not write.", e);
            // Waiting callers learn now. Request rows of Strict callers are theirs to answer for (they refuse
            // the request); every other row, idle rows included, is kept for the next try.
            FailAll(batch, failure);
            var kept = batch.Where(x => x.Request is null || x.Committed is null).ToList();
            var room = MaxRetained - _retained.Count;
            _retained.AddRange(kept.Take(room));
            Dropped(kept.Skip(room).ToList(), $"more than {MaxRetained} rows were waiting for the ledger");
        }
    }

    private void Dropped(IReadOnlyCollection<Entry> entries, string why)
    {
        var requests = entries.Count(e => e.Request is not null);
        if (requests > 0)
        {
            _onDropped?.Invoke("request", requests, why);
        }

        if (entries.Count - requests > 0)
        {
            _onDropped?.Invoke("idle", entries.Count - requests, why);
        }
    }

    /// <summary>The one request allowed through while the ledger is failing; disposing it lets the next probe in.</summary>
    private sealed class Probe(LedgerWriter writer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                // The next probe waits its turn; a probe whose row committed has made the ledger healthy already.
                Interlocked.Exchange(ref writer._nextProbeTicks, writer.NextProbe());
                Interlocked.Exchange(ref writer._probing, 0);
            }
        }
    }

    private static void FailAll(IEnumerable<Entry> entries, Exception failure)
    {
        foreach (var entry in entries)
        {
            entry.Committed?.TrySetException(failure);
        }
    }

    private sealed record Entry(LedgerRow? Request, IdleRow? Idle, TaskCompletionSource? Committed)
    {
        /// <summary>For a Strict caller's row: taken by the writer before its commit, or abandoned by a caller that timed out.</summary>
        public CommitClaim? Claim { get; init; }
    }

    /// <summary>Who decides a waited-for row's fate first: the writer (it commits as given) or its caller (it gave up: written as failed).</summary>
    private sealed class CommitClaim
    {
        private int _state;

        public bool TryTake() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;
    }
}
