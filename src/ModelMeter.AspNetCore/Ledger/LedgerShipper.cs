using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Sends the rows this replica committed to its SQLite file on to the fleet ledger in ClickHouse, oldest first, and
/// removes them from the outbox only once ClickHouse took them. A failed shipment is counted, logged and tried again
/// (with back-off) until it succeeds; a shipment repeated after a timeout is harmless (the fleet ledger is idempotent).
/// Runs in fleet mode only. Its last shipment waits until every hosted service has stopped (the ledger drained).
/// </summary>
internal sealed partial class LedgerShipper(
    LedgerStorage ledger, IOptions<ModelMeterOptions> options, ListeningAddress listening, DeviceLoadReadings loadReadings, ModelMeterMetrics metrics, TimeProvider time,
    ILogger<LedgerShipper> logger)
    : IHostedLifecycleService, IDisposable
{
    /// <summary>How long the last shipment may take when the host stops; the outbox keeps the rest for the next start.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stopping = new();
    private SqliteLedger _local = null!;
    private ClickHouseLedger _fleet = null!;
    private int _batchSize;
    private TimeSpan _interval;
    private TimeSpan _maxBackoff;
    private Task? _loop;
    private bool _initialized;
    private string? _spool;
    private string? _nodeName;
    private int _stopped;
    private bool _shared;
    private TimeSpan _watermarkSlack;
    private DateTimeOffset _since;
    private DateTimeOffset _lastWatermark = DateTimeOffset.MinValue;
    private TimeSpan _watermarkEvery;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (ledger.Fleet is not { } clickHouse)
        {
            return;
        }

        var o = options.Value.Ledger.ClickHouse;
        (_local, _fleet, _batchSize, _interval) = (ledger.Store, clickHouse, o.BatchSize, TimeSpan.FromMilliseconds(o.ShipIntervalMs));
        _maxBackoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, _interval.Ticks * 50)); // the wait doubles after failures, up to this
        _shared = options.Value.SharedDevices.Count > 0;
        _watermarkSlack = TimeSpan.FromMilliseconds(options.Value.Ledger.FlushIntervalMs + 1000); // a Deferred row is committed within a flush
        _since = time.GetUtcNow();
        _watermarkEvery = TimeSpan.FromMilliseconds(options.Value.Ledger.ClickHouse.SettleIntervalMs / 2.0); // fresh enough for each settling round, without an insert a second
        await TryInitializeAsync(TimeSpan.FromSeconds(5));
        if (_shared && options.Value.Node is not null)
        {
            // Live from the start: nothing this replica serves from now on can be settled without it. (A replica named by
            // its port publishes after its first shipment, once it listens.)
            await TryAsync(() => ShipSharedAsync(_since - _watermarkSlack, CancellationToken.None), TimeSpan.FromSeconds(5));
        }

        _loop = Task.Run(() => RunAsync(_stopping.Token));
        LogShipping(o.Url, o.Database);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After every hosted service stopped (the last rows committed): stops the loop and ships what is left.</summary>
    public Task StoppedAsync(CancellationToken cancellationToken) =>
        _loop is null || Interlocked.Exchange(ref _stopped, 1) != 0 ? Task.CompletedTask : StopAsync(StopGrace);

    public void Dispose() => _stopping.Dispose();

    /// <summary>
    /// This replica in the fleet ledger: <c>ModelMeter:Node</c>, else the host name and the port it listens on (known once
    /// the server has started, before the first shipment), so that two replicas on one host stay apart.
    /// </summary>
    private string NodeName()
    {
        if (_nodeName is { } known)
        {
            return known;
        }

        if (options.Value.Node is { } configured)
        {
            return _nodeName = configured;
        }

        return listening() is { } uri
            ? _nodeName = $"{Environment.MachineName}:{uri.Port}"
            : Environment.MachineName; // not listening (yet): not remembered, the next shipment asks again
    }

    /// <summary>Stops the loop, then ships what is left for at most <paramref name="grace"/> (the outbox keeps the rest for the next start).</summary>
    private async Task StopAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        using var deadline = new CancellationTokenSource(grace); // wall-clock on purpose: shutdown ends in real time whatever the app's clock
        try
        {
            while (await ShipOnceAsync(deadline.Token))
            {
            }

            await ShipSharedAsync(DateTimeOffset.MaxValue, deadline.Token); // gone: this replica holds up no settlement
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
                var mark = time.GetUtcNow() - _watermarkSlack;
                while (await ShipOnceAsync(stopping))
                {
                }

                await ShipSharedAsync(mark, stopping);
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
            var wait = failures == 0 ? _interval : TimeSpan.FromTicks(Math.Min(_maxBackoff.Ticks, _interval.Ticks << Math.Min(failures, 10)));
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
            await _fleet.InitializeAsync(cancellationToken);
            _initialized = true;
        }

        var batch = _local.ReadOutbox(_batchSize);
        if (batch.IsEmpty)
        {
            return false;
        }

        _spool ??= _local.SpoolId;
        await _fleet.ShipAsync(NodeName(), _spool, batch.FirstSeq, batch.LastSeq, batch.Requests, [.. batch.Idle.Select(i => (i.Row, i.Seq))], cancellationToken);
        _local.AcknowledgeOutbox(batch.LastSeq);
        metrics.LedgerRowsShipped.WithLabels("request").Inc(batch.Requests.Count);
        metrics.LedgerRowsShipped.WithLabels("idle").Inc(batch.Idle.Count);
        return batch.Entries >= _batchSize;
    }

    /// <summary>
    /// With shared devices: ships the load readings and says that every row of a request that ended before
    /// <paramref name="through"/> is in the fleet ledger (the outbox was empty after it).
    /// </summary>
    private async Task ShipSharedAsync(DateTimeOffset through, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!_shared || !_initialized || (through != DateTimeOffset.MaxValue && now - _lastWatermark < _watermarkEvery))
        {
            return;
        }

        var readings = loadReadings.Take();
        try
        {
            await _fleet.ShipLoadAsync(NodeName(), readings, cancellationToken);
        }
        catch
        {
            loadReadings.PutBack(readings);
            throw;
        }

        await _fleet.PublishWatermarkAsync(NodeName(), _since, through, now, cancellationToken);
        _lastWatermark = now;
    }

    private void UpdateLag()
    {
        try
        {
            var oldest = _local.OldestUnshipped();
            metrics.LedgerShipLag.Set(oldest is { } at ? Math.Max(0, (time.GetUtcNow() - at).TotalSeconds) : 0);
        }
        catch (Exception e)
        {
            LogShipFailed(e, 0);
        }
    }

    /// <summary>Tries <paramref name="action"/> once within <paramref name="timeout"/>; a failure is logged and left to the loop.</summary>
    private async Task TryAsync(Func<Task> action, TimeSpan timeout)
    {
        try
        {
            await action().WaitAsync(timeout);
        }
        catch (Exception e)
        {
            LogShipFailed(e, 0);
        }
    }

    /// <summary>Tries the schema once at start, so reports work at once when ClickHouse is up; the loop tries again when it is not.</summary>
    private async Task TryInitializeAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout); // wall-clock on purpose: start-up is never held by a paused clock
        try
        {
            await _fleet.InitializeAsync(deadline.Token);
            _initialized = true;
        }
        catch (Exception e)
        {
            LogInitializeFailed(e);
        }
    }

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "Shipping ledger rows to ClickHouse at {Url}, database {Database}")]
    private partial void LogShipping(string url, string database);

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Could not ship ledger rows to ClickHouse (failure {Failures} in a row); they stay in the local outbox and are tried again")]
    private partial void LogShipFailed(Exception exception, int failures);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Could not ship the last ledger rows to ClickHouse while stopping; they stay in the local outbox for the next start")]
    private partial void LogFinalShipFailed(Exception exception);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning, Message = "ClickHouse is not reachable at start; fleet reports fail until it is, and rows wait in the local outbox")]
    private partial void LogInitializeFailed(Exception exception);
}
