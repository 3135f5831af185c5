using Microsoft.Extensions.Options;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.Metering;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Owns the ledger for the server's lifetime: opens (and migrates) it and seeds the counters before the
/// server listens, writes an idle row per device every minute, and on shutdown records the last idle
/// minute and drains the queue. Registered before the other hosted services, so it stops after them.
/// </summary>
internal sealed partial class LedgerHost(
    IOptions<ModelMeterOptions> options, IHostEnvironment environment, CostMeter meter, BudgetTracker budgets, CostEstimator estimator,
    ModelMeterMetrics metrics, TimeProvider time, IHttpClientFactory http, LedgerHost.ListeningAddress listening, ILogger<LedgerHost> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private ILedgerStore? _store;
    private ClickHouseLedger? _fleet;
    private LedgerShipper? _shipper;

    /// <summary>Where the server listens (null before it does): hosting gives it, so the ledger does not reach into the server.</summary>
    public delegate Uri? ListeningAddress();

    /// <summary>The named HTTP client that talks to ClickHouse (timeouts and retries from configuration).</summary>
    public const string ClickHouseClientName = "ModelMeter.ClickHouse";
    private IdleRecorder? _idle;
    private Task? _minutes;

    public LedgerWriter Writer { get; private set; } = null!;

    private bool Started => _store is not null && Writer is not null;

    public ILedgerStore Store => _store ?? throw new InvalidOperationException("The ledger is not open yet.");

    /// <summary>Where reports read: this replica's store, or the fleet's ClickHouse ledger.</summary>
    public ILedgerReports Reports => (ILedgerReports?)_fleet ?? Store;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value.Ledger;
        var path = Path.GetFullPath(o.Path, environment.ContentRootPath);
        var node = options.Value.Node ?? Environment.MachineName; // the local file's name for itself; shipping adds the port
        var fleetMode = o.UsesClickHouse;
        var store = new SqliteLedger(path, fullSync: o.Durability == LedgerDurability.Strict, outbox: fleetMode, node: node);
        store.Initialize();
        _store = store;
        var totals = store.Totals();
        meter.Seed(totals);
        foreach (var (model, costUsd) in totals.CostUsdByModel)
        {
            estimator.Seed(model, costUsd, totals.TokensByModel.GetValueOrDefault((model, "output")));
        }

        budgets.Seed((budget, from, to) => BudgetSpending.In(store.Summarize(from, to, BudgetSpending.GroupingFor(budget), IdleSharing.Separate), budget));
        Writer = new LedgerWriter(
            store, o.Durability, TimeSpan.FromMilliseconds(o.FlushIntervalMs), o.QueueCapacity, e => LogWriteFailed(e, path),
            (kind, count, why) =>
            {
                metrics.LedgerRowsDropped.WithLabels(kind).Inc(count);
                LogRowsDropped(count, kind, why, path);
            },
            TimeSpan.FromMilliseconds(o.CommitTimeoutMs),
            time);
        Writer.Start();
        _idle = new IdleRecorder(meter.Devices, time);
        _minutes = RecordIdleMinutesAsync(_stopping.Token);
        LogOpened(path, o.Durability);
        if (fleetMode)
        {
            await StartShippingAsync(store, o.ClickHouse);
        }
    }

    private async Task StartShippingAsync(SqliteLedger store, ClickHouseOptions o)
    {
        _fleet = o.CreateLedger(http.CreateClient(ClickHouseClientName));
        _shipper = new LedgerShipper(store, _fleet, NodeName, o.BatchSize, TimeSpan.FromMilliseconds(o.ShipIntervalMs), metrics, time, logger);
        await _shipper.TryInitializeAsync(TimeSpan.FromSeconds(5));
        _shipper.Start();
        LogShipping(o.Url, o.Database);
    }

    private string? _nodeName;

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

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!Started)
        {
            return; // the ledger never opened (the start failed and said why)
        }

        await _stopping.CancelAsync();
        if (_minutes is not null)
        {
            await _minutes;
        }

        if (_idle is not null)
        {
            foreach (var row in _idle.Collect())
            {
                await Writer.RecordIdleAsync(row);
            }
        }

        await Writer.DisposeAsync();
        if (_shipper is not null)
        {
            await _shipper.StopAsync(TimeSpan.FromSeconds(5));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _store?.Dispose();
        _stopping.Dispose();
        await ValueTask.CompletedTask;
    }

    private readonly SemaphoreSlim _catchingUp = new(1, 1);

    /// <summary>
    /// Writes the idle time accrued so far, so a report that ends now includes it and adds up to the bill. One at a time:
    /// a report that arrives while another's idle rows are being committed waits for them rather than reading without.
    /// </summary>
    public async Task CatchUpIdleAsync()
    {
        await _catchingUp.WaitAsync();
        try
        {
            if (_idle is not null)
            {
                await Writer.RecordIdleAndWaitAsync(_idle.Collect());
            }
        }
        catch (LedgerUnavailableException)
        {
            // The rows stay queued for the next try; the report shows what the ledger holds.
        }
        finally
        {
            _catchingUp.Release();
        }
    }

    private async Task RecordIdleMinutesAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var nextMinute = TimeSpan.FromTicks(TimeSpan.TicksPerMinute - now.Ticks % TimeSpan.TicksPerMinute);
                await Task.Delay(nextMinute, time, stopping).ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // work off the timer's callback
                foreach (var row in _idle!.Collect())
                {
                    await Writer.RecordIdleAsync(row);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "Shipping ledger rows to ClickHouse at {Url}, database {Database}")]
    private partial void LogShipping(string url, string database);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Ledger at {Path} ({Durability})")]
    private partial void LogOpened(string path, LedgerDurability durability);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "The ledger at {Path} could not write")]
    private partial void LogWriteFailed(Exception exception, string path);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Gave up {Count} ledger {Kind} rows: {Why} ({Path})")]
    private partial void LogRowsDropped(int count, string kind, string why, string path);
}
