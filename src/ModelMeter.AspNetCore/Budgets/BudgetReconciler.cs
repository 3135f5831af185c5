using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>
/// With budgets in Redis and the ledger in ClickHouse: every <c>ReconcileSeconds</c>, sets each budget's spend in its
/// current period to what the fleet ledger says, so settlements lost while Redis was down and corrections made in the
/// ledger heal. Spend settled in the last seconds and not yet shipped is missing until the next round.
/// </summary>
internal sealed partial class BudgetReconciler(
    IOptions<ModelMeterOptions> options, IBudgetStore store, LedgerStorage ledger, TimeProvider time, ILogger<BudgetReconciler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (store is not RedisBudgetStore redis || !o.Ledger.UsesClickHouse || o.BudgetStore.ReconcileSeconds <= 0)
        {
            return;
        }

        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(o.BudgetStore.ReconcileSeconds), time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                await ReconcileAsync(redis, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round: each budget's spend from the fleet ledger into Redis.</summary>
    public async Task ReconcileAsync(RedisBudgetStore redis, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var budget in redis.Budgets)
        {
            try
            {
                var period = budget.PeriodOf(now);
                var spent = await BudgetSpending.SpentAsync(ledger.Reports, budget, period.Start, now, cancellationToken);
                await redis.SetSpentAsync(budget, period.Start, spent);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogReconcileFailed(e, budget.Name);
            }
        }
    }

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Could not reconcile budget {Budget} from the fleet ledger; trying again next round")]
    private partial void LogReconcileFailed(Exception exception, string budget);
}
