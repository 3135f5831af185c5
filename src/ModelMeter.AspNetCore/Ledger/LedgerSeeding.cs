using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// At start, right after the ledger opens and before the server listens: the counters continue from the ledger's totals
/// (device bills, costs, tokens), the cost estimator starts from each model's long-run cost per token, and budgets learn
/// what their current periods have spent.
/// </summary>
internal sealed class LedgerSeeding(LedgerStorage ledger, CostMeter meter, BudgetTracker budgets, CostEstimator estimator) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var store = ledger.Store;
        var totals = store.Totals();
        meter.Seed(totals);
        foreach (var (model, costUsd) in totals.CostUsdByModel)
        {
            estimator.Seed(model, costUsd, totals.TokensByModel.GetValueOrDefault((model, "output")));
        }

        budgets.Seed((budget, from, to) => BudgetSpending.In(store.Summarize(from, to, BudgetSpending.GroupingFor(budget), IdleSharing.Separate), budget));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
