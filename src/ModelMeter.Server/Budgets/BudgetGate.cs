using ModelMeter.Budgets;

namespace ModelMeter.Server.Budgets;

/// <summary>The budget steps of a request: reserve an estimate at admission, settle the real cost at the end, notify crossings.</summary>
internal sealed class BudgetGate(BudgetTracker tracker, CostEstimator estimator, BudgetNotifier notifier)
{
    public BudgetAdmission Admit(string model, string tenant, int maxTokens) =>
        tracker.Admit(model, tenant, estimator.EstimateUsd(model, maxTokens));

    public void Settle(BudgetAdmission admission, string model, double costUsd, int outputTokens)
    {
        estimator.Observe(model, costUsd, outputTokens);
        notifier.Notify(tracker.Settle(admission, costUsd));
    }
}
