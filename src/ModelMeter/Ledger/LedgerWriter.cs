using System.Threading.Channels;

namespace ModelMeter.Ledger;

/// <summary>
/// Writes ledger rows in batches from a bounded queue with one writer loop. <see cref="LedgerDurability.Strict"/>:
/// a caller waits until its row is committed; rows that arrive while a batch commits go into the next
/// batch (group commit). <see cref="LedgerDurability.Relaxed"/>: callers do not wait; the loop commits
/// every flush interval and keeps rows it could not write for the next try.
/// </summary>
public sealed class LedgerWriter : IAsyncDisposable
{
    private const int MaxBatch = 4096;
    private const int MaxRetained = 1_000_000;

    private readonly ILedgerStore _store;
    private readonly LedgerDurability _durability;
    private readonly TimeSpan _flushInterval;
    private readonly Action<Exception>? _onError;
    private readonly Channel<Entry> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Entry> _retained = [];
    private Task? _loop;
    private volatile bool _healthy = true;
    private long _lastFailureTicks;

    /// <param name="store">Where rows go; initialized already.</param>
    /// <param name="durability">Whether callers wait for their commit.</param>
    /// <param name="flushInterval">How often <see cref="LedgerDurability.Relaxed"/> commits, and how soon a failed write is retried.</param>
    /// <param name="capacity">Rows the queue holds before callers wait.</param>
    /// <param name="onError">Told about every failed write (for logging).</param>
    public LedgerWriter(ILedgerStore store, LedgerDurability durability, TimeSpan flushInterval, int capacity = 65_536, Action<Exception>? onError = null)
    {
        _store = store;
        _durability = durability;
        _flushInterval = flushInterval;
        _onError = onError;
        _queue = Channel.CreateBounded<Entry>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>How long after a failed write <see cref="IsHealthy"/> stays false, so a new row can try the ledger again.</summary>
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    /// <summary>
    /// False for <see cref="RetryAfterFailure"/> after a failed write, and after that until a write
    /// succeeds, except that one row at a time may try again.
    /// </summary>
    public bool IsHealthy => _healthy || Environment.TickCount64 - Interlocked.Read(ref _lastFailureTicks) > RetryAfterFailure.TotalMilliseconds;

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
        await _queue.Writer.WriteAsync(new Entry(row, null, committed), cancellationToken);
        await committed.Task;
    }

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
                await Task.Delay(_flushInterval, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            batch.Clear();
            batch.AddRange(_retained);
            _retained.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var entry))
            {
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
                _retained.Clear();
            }
        }
    }

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
            _healthy = false;
            Interlocked.Exchange(ref _lastFailureTicks, Environment.TickCount64);
            _onError?.Invoke(e);
            var failure = new LedgerUnavailableException("The ledger could not write.", e);
            // Waiting callers learn now. Request rows of Strict callers are theirs to answer for (they refuse
            // the request); every other row, idle rows included, is kept for the next try.
            FailAll(batch, failure);
            _retained.AddRange(batch.Where(x => x.Request is null || x.Committed is null).Take(MaxRetained - _retained.Count));
        }
    }

    private static void FailAll(IEnumerable<Entry> entries, Exception failure)
    {
        foreach (var entry in entries)
        {
            entry.Committed?.TrySetException(failure);
        }
    }

    private sealed record Entry(LedgerRow? Request, IdleRow? Idle, TaskCompletionSource? Committed);
}
