using ModelMeter.Budgets;
using ModelMeter.Ledger;

namespace ModelMeter.Tests.Budgets;

/// <summary>What a budget has spent according to a report: its requests' own cost, never idle time or placeholders.</summary>
public sealed class BudgetSpendingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Global_SumsEveryRequestGroup_ButNotIdleOrProvisionalRows()
    {
        var summary = Summary(CostGrouping.Model, ("a", 2), ("b", 3), ($"{CostSummaryRow.IdleKey} gpu0", 50), (CostSummaryRow.ProvisionalKey, 7));

        Assert.Equal(5, BudgetSpending.In(summary, Budget(BudgetScope.Global, null)));
    }

    [Fact]
    public void TenantOrModelBudget_CountsOnlyItsTarget()
    {
        var byTenant = Summary(CostGrouping.Tenant, ("acme", 2), ("globex", 3));
        var byModel = Summary(CostGrouping.Model, ("a", 4), ("b", 1));

        Assert.Equal(2, BudgetSpending.In(byTenant, Budget(BudgetScope.Tenant, "acme")));
        Assert.Equal(1, BudgetSpending.In(byModel, Budget(BudgetScope.Model, "b")));
        Assert.Equal(0, BudgetSpending.In(byModel, Budget(BudgetScope.Model, "c")));
    }

    [Fact]
    public void GroupingFor_TenantBudgetsReadByTenant_OthersByModel()
    {
        Assert.Equal(CostGrouping.Tenant, BudgetSpending.GroupingFor(Budget(BudgetScope.Tenant, "acme")));
        Assert.Equal(CostGrouping.Model, BudgetSpending.GroupingFor(Budget(BudgetScope.Model, "a")));
        Assert.Equal(CostGrouping.Model, BudgetSpending.GroupingFor(Budget(BudgetScope.Global, null)));
    }

    [Fact]
    public async Task SpentAsync_AsksTheLedgerForTheWindowInTheBudgetsGrouping()
    {
        var ledger = new OneReport(Summary(CostGrouping.Tenant, ("acme", 1.5), ("globex", 9)));

        var spent = await BudgetSpending.SpentAsync(ledger, Budget(BudgetScope.Tenant, "acme"), T0, T0.AddDays(1));

        Assert.Equal(1.5, spent);
        Assert.Equal((T0, T0.AddDays(1), CostGrouping.Tenant, IdleSharing.Separate), ledger.Asked);
    }

    private static CostSummary Summary(CostGrouping by, params (string Key, double CostUsd)[] rows) =>
        new(T0, T0.AddDays(1), by, IdleSharing.Separate, [.. rows.Select(r => new CostSummaryRow(r.Key, 1, 0, 0, r.CostUsd, 0))]);

    private static BudgetDefinition Budget(BudgetScope scope, string? target) =>
        new("b", scope, target, BudgetPeriod.Day, TimeZoneInfo.Utc, 100, [1.0], Enforce: true, null);

    private sealed class OneReport(CostSummary summary) : ILedgerReports
    {
        public (DateTimeOffset, DateTimeOffset, CostGrouping, IdleSharing) Asked { get; private set; }

        public Task<CostSummary> SummarizeAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null, CancellationToken cancellationToken = default)
        {
            Asked = (from, to, by, idle);
            return Task.FromResult(summary);
        }

        public Task<IReadOnlyList<CostPoint>> TimeseriesAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task<LedgerStats> StatsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<LedgerActivity> ActivityAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
