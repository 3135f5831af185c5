using Microsoft.Extensions.Options;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
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
    ModelMeterMetrics metrics, TimeProvider time, ILogger<LedgerHost> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private ILedgerStore? _store;
    private IdleRecorder? _idle;
    private Task? _minutes;

    public LedgerWriter Writer { get; private set; } = null!;

    private bool Started => _store is not null && Writer is not null;

    public ILedgerStore Store => _store ?? throw new InvalidOperationException("The ledger is not open yet.");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value.Ledger;
        var path = Path.GetFullPath(o.Path, environment.ContentRootPath);
        var store = new SqliteLedger(path, fullSync: o.Durability == LedgerDurability.Strict);
        store.Initialize();
        _store = store;
        var totals = store.Totals();
        meter.Seed(totals);
        foreach (var (model, costUsd) in totals.CostUsdByModel)
        {
            estimator.Seed(model, costUsd, totals.TokensByModel.GetValueOrDefault((model, "output")));
        }

        budgets.Seed((budget, from, to) => SpentInScope(store, budget, from, to));
        Writer = new LedgerWriter(
            store, o.Durability, TimeSpan.FromMilliseconds(o.FlushIntervalMs), o.QueueCapacity, e => LogWriteFailed(e, path),
            (kind, count, why) =>
            {
                metrics.LedgerRowsDropped.WithLabels(kind).Inc(count);
                LogRowsDropped(count, kind, why, path);
            },
            TimeSpan.FromMilliseconds(o.CommitTimeoutMs));
        Writer.Start();
        _idle = new IdleRecorder(meter.Devices, time);
        _minutes = RecordIdleMinutesAsync(_stopping.Token);
        LogOpened(path, o.Durability);
        return Task.CompletedTask;
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
    }

    public async ValueTask DisposeAsync()
    {
        _store?.Dispose();
        _stopping.Dispose();
        await ValueTask.CompletedTask;
    }

    private static double SpentInScope(ILedgerStore store, BudgetDefinition budget, DateTimeOffset from, DateTimeOffset to)
    {
        var by = budget.Scope == BudgetScope.Tenant ? CostGrouping.Tenant : CostGrouping.Model;
        return store.Summarize(from, to, by, IdleSharing.Separate).Rows
            .Where(r => budget.Scope == BudgetScope.Global ? !r.IsIdle : r.Key == budget.Target)
            .Sum(r => r.CostUsd);
    }

    /// <summary>Writes the idle time accrued so far, so a report that ends now includes it and adds up to the bill.</summary>
    public async Task CatchUpIdleAsync()
    {
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
    }

    private async Task RecordIdleMinutesAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var nextMinute = TimeSpan.FromTicks(TimeSpan.TicksPerMinute - now.Ticks % TimeSpan.TicksPerMinute);
                await Task.Delay(nextMinute, time, stopping);
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

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Ledger at {Path} ({Durability})")]
    private partial void LogOpened(string path, LedgerDurability durability);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "The ledger at {Path} could not write")]
    private partial void LogWriteFailed(Exception exception, string path);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Gave up {Count} ledger {Kind} rows: {Why} ({Path})")]
    private partial void LogRowsDropped(int count, string kind, string why, string path);
}
