using ModelMeter.Budgets;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>The budget steps of a request: reserve an estimate at admission, settle the real cost at the end, notify crossings.</summary>
internal sealed class BudgetGate(IBudgetStore store, CostEstimator estimator, BudgetNotifier notifier, CostMeter meter)
{
    /// <summary>Reserves the most the request can cost: exact for a model priced per token, from recent cost per token for a device.</summary>
    public ValueTask<BudgetAdmission> AdmitAsync(string requestId, string model, string tenant, int inputTokens, int maxTokens) =>
        store.AdmitAsync(requestId, model, tenant, meter.PriceOf(model) is { } price ? price.CostUsd(inputTokens, maxTokens) : estimator.EstimateUsd(model, tenant, maxTokens));

    public async Task SettleAsync(BudgetAdmission admission, string model, string tenant, double costUsd, int outputTokens)
    {
        estimator.Observe(model, tenant, costUsd, outputTokens);
        notifier.Notify(await store.SettleAsync(admission, costUsd));
    }
}
