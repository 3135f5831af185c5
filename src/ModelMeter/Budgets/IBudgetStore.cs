namespace ModelMeter.Budgets;

/// <summary>
/// Where budget spending is kept and checked: in this process (<see cref="BudgetTracker"/>, the default) or shared by a
/// fleet of replicas (Redis). Admission reserves an estimate in every budget in scope unless an enforcing one is spent;
/// settlement replaces the reservation with the real cost and reports the thresholds it crossed (each once per period).
/// </summary>
public interface IBudgetStore
{
    /// <summary>The budgets.</summary>
    IReadOnlyList<BudgetDefinition> Budgets { get; }

    /// <summary>Admits request <paramref name="requestId"/> unless an enforcing budget in scope is spent, reserving <paramref name="estimateUsd"/>.</summary>
    ValueTask<BudgetAdmission> AdmitAsync(string requestId, string model, string tenant, double estimateUsd, CancellationToken cancellationToken = default);

    /// <summary>Replaces the admission's reservation with <paramref name="costUsd"/>; returns the thresholds this crossed. Settling twice does nothing.</summary>
    ValueTask<IReadOnlyList<BudgetCrossing>> SettleAsync(BudgetAdmission admission, double costUsd, CancellationToken cancellationToken = default);

    /// <summary>What <paramref name="budget"/> has spent in its current period, US dollars.</summary>
    ValueTask<double> SpentAsync(BudgetDefinition budget, CancellationToken cancellationToken = default);
}
