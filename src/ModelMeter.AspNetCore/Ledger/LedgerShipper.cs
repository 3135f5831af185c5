using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Sends the rows this replica committed to its SQLite file on to the fleet ledger in ClickHouse, oldest first, and
/// removes them from the outbox only once ClickHouse took them. A failed shipment is counted, logged and tried again
/// (with back-off) until it succeeds; a shipment repeated after a timeout is harmless (the fleet ledger is idempotent).
/// </summary>
internal sealed partial class LedgerShipper(
    SqliteLedger local, ClickHouseLedger fleet, Func<string> node, int batchSize, TimeSpan interval, ModelMeterMetrics metrics, TimeProvider time, ILogger logger)
{
    /// <summary>After failures the wait doubles, up to 50 intervals and never more than 30 s.</summary>
    private readonly TimeSpan _maxBackoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, interval.Ticks * 50));
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private bool _initialized;
    private string? _spool;

    public void Start() => _loop = Task.Run(() => RunAsync(_stopping.Token));

    /// <summary>Stops the loop, then ships what is left for at most <paramref name="grace"/> (the outbox keeps the rest for the next start).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        using var deadline = new CancellationTokenSource(grace);
        try
        {
            while (await ShipOnceAsync(deadline.Token))
            {
            }
        }
        catch (Exception e)
        {
            LogFinalShipFailed(e);
        }

        UpdateLag();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                while (await ShipOnceAsync(stopping))
                {
                }

                failures = 0;
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                failures++;
                metrics.LedgerShipFailures.Inc();
                LogShipFailed(e, failures);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            UpdateLag();
            var wait = failures == 0 ? interval : TimeSpan.FromTicks(Math.Min(_maxBackoff.Ticks, interval.Ticks << Math.Min(failures, 10)));
            try
            {
                // Yield: the shipment must not run on the timer's callback (a fake clock in tests would stop while it ships).
                await Task.Delay(wait, time, stopping).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Ships one batch; true when the outbox may hold more.</summary>
    private async Task<bool> ShipOnceAsync(CancellationToken cancellationToken)
    {
        if (!_initialized)
        {
            await fleet.InitializeAsync(cancellationToken);
            _initialized = true;
        }

        var batch = local.ReadOutbox(batchSize);
        if (batch.IsEmpty)
        {
            return false;
        }

        _spool ??= local.SpoolId;
        await fleet.ShipAsync(node(), _spool, batch.FirstSeq, batch.LastSeq, batch.Requests, [.. batch.Idle.Select(i => (i.Row, i.Seq))], cancellationToken);
        local.AcknowledgeOutbox(batch.LastSeq);
        metrics.LedgerRowsShipped.WithLabels("request").Inc(batch.Requests.Count);
        metrics.LedgerRowsShipped.WithLabels("idle").Inc(batch.Idle.Count);
        return batch.Entries >= batchSize;
    }

    private void UpdateLag()
    {
        try
        {
            var oldest = local.OldestUnshipped();
            metrics.LedgerShipLag.Set(oldest is { } at ? Math.Max(0, (time.GetUtcNow() - at).TotalSeconds) : 0);
        }
        catch (Exception e)
        {
            LogShipFailed(e, 0);
        }
    }

    /// <summary>Tries the schema once at start, so reports work at once when ClickHouse is up; the loop tries again when it is not.</summary>
    public async Task TryInitializeAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await fleet.InitializeAsync(deadline.Token);
            _initialized = true;
        }
        catch (Exception e)
        {
            LogInitializeFailed(e);
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Could not ship ledger rows to ClickHouse (failure {Failures} in a row); they stay in the local outbox and are tried again")]
    private partial void LogShipFailed(Exception exception, int failures);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Could not ship the last ledger rows to ClickHouse while stopping; they stay in the local outbox for the next start")]
    private partial void LogFinalShipFailed(Exception exception);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "ClickHouse is not reachable at start; fleet reports fail until it is, and rows wait in the local outbox")]
    private partial void LogInitializeFailed(Exception exception);
}
