using ModelMeter.Ledger;

namespace ModelMeter.Budgets;

/// <summary>What a budget has spent according to a ledger report: its requests' own cost (idle time belongs to no one).</summary>
public static class BudgetSpending
{
    /// <summary>The grouping whose rows hold a budget's spend.</summary>
    public static CostGrouping GroupingFor(BudgetDefinition budget) => budget.Scope == BudgetScope.Tenant ? CostGrouping.Tenant : CostGrouping.Model;

    /// <summary>The budget's spend in <paramref name="summary"/> (grouped by <see cref="GroupingFor"/>).</summary>
    public static double In(CostSummary summary, BudgetDefinition budget) => summary.Rows
        .Where(r => budget.Scope == BudgetScope.Global ? !r.IsIdle && !r.IsProvisional : r.Key == budget.Target)
        .Sum(r => r.CostUsd);

    /// <summary>The budget's spend in [<paramref name="from"/>, <paramref name="to"/>) according to <paramref name="ledger"/>.</summary>
    public static async Task<double> SpentAsync(ILedgerReports ledger, BudgetDefinition budget, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        In(await ledger.SummarizeAsync(from, to, GroupingFor(budget), IdleSharing.Separate, cancellationToken: cancellationToken), budget);
}
