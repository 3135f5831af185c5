using ModelMeter.Budgets;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>The budget steps of a request: reserve an estimate at admission, settle the real cost at the end, notify crossings.</summary>
internal sealed class BudgetGate(BudgetTracker tracker, CostEstimator estimator, BudgetNotifier notifier, CostMeter meter)
{
    /// <summary>Reserves the most the request can cost: exact for a model priced per token, from recent cost per token for a device.</summary>
    public BudgetAdmission Admit(string model, string tenant, int inputTokens, int maxTokens) =>
        tracker.Admit(model, tenant, meter.PriceOf(model) is { } price ? price.CostUsd(inputTokens, maxTokens) : estimator.EstimateUsd(model, maxTokens));

    public void Settle(BudgetAdmission admission, string model, double costUsd, int outputTokens)
    {
        estimator.Observe(model, costUsd, outputTokens);
        notifier.Notify(tracker.Settle(admission, costUsd));
    }
}
