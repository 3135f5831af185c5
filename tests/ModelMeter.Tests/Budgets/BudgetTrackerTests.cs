using Microsoft.Extensions.Time.Testing;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using Prometheus;

namespace ModelMeter.Tests.Budgets;

public sealed class BudgetTrackerTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    [Fact]
    public void Admit_OverlappingReservations_RefuseOnceReservedReachesTheLimit()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));

        var admitted = Enumerable.Range(0, 10).Select(_ => tracker.Admit("m", "t", estimateUsd: 3)).ToArray();

        Assert.Equal(4, admitted.Count(a => a.RefusedBy is null)); // 0, 3, 6, 9 < 10; then 12 ≥ 10
        foreach (var admission in admitted.Where(a => a.RefusedBy is null))
        {
            tracker.Settle(admission, 3);
        }

        Assert.Equal(12, tracker.SpentUsd("b"), 9); // overshoot bounded by the last admitted request
        // Refused while only reserved: retry soon, the requests in flight settle; refused once spent: at the period's end.
        Assert.Equal((true, TimeSpan.FromSeconds(1)), (admitted.Last().HeldByRequestsInFlight, admitted.Last().RetryAfter));
        var spent = tracker.Admit("m", "t", estimateUsd: 3);
        Assert.Equal((false, TimeSpan.FromHours(12)), (spent.HeldByRequestsInFlight, spent.RetryAfter));
    }

    [Fact]
    public void Admit_EstimateAboveWhatIsLeft_ReservesOnlyWhatIsLeft()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        tracker.Settle(tracker.Admit("m", "t", estimateUsd: 0), 2); // 2 of 10 spent

        var greedy = tracker.Admit("m", "t", estimateUsd: 4236);

        Assert.Null(greedy.RefusedBy);
        Assert.Equal(8, greedy.EstimateUsd, 9);
        tracker.Settle(greedy, 0.5); // it cost little: the budget is open again with 7.5 left
        var next = tracker.Admit("m", "t", estimateUsd: 1);
        Assert.Equal((null, 1.0), (next.RefusedBy, next.EstimateUsd));
    }

    [Fact]
    public void Settle_ReservationFromBeforeMidnight_KeepsTheNewPeriodsReservations()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 23, 59, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        var beforeMidnight = tracker.Admit("m", "t", estimateUsd: 5);

        time.Advance(TimeSpan.FromMinutes(2)); // 00:01 the next day: a new period
        var afterMidnight = tracker.Admit("m", "t", estimateUsd: 7);
        tracker.Settle(beforeMidnight, 2); // ends in the new period: its cost counts there, its old reservation is gone with its period

        // 2 spent + 7 still reserved for the request in flight = 9: one more 1.5 estimate reaches 10.5, so the next is refused.
        Assert.Null(tracker.Admit("m", "t", estimateUsd: 1.5).RefusedBy);
        Assert.Equal("b", tracker.Admit("m", "t", estimateUsd: 0.1).RefusedBy);
        Assert.Null(afterMidnight.RefusedBy);
        Assert.Equal(2, tracker.SpentUsd("b"), 9);
    }

    [Fact]
    public void Settle_SamePeriod_ReleasesItsReservation()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));

        tracker.Settle(tracker.Admit("m", "t", estimateUsd: 9), 1);

        Assert.Null(tracker.Admit("m", "t", estimateUsd: 8.5).RefusedBy); // 1 spent + 0 reserved: room for 8.5
    }

    [Fact]
    public void Settle_CrossingThresholds_ReportsEachOncePerPeriodAndResetsAtLocalMidnight()
    {
        // 22:30 UTC is 23:30 in Berlin (CET): the local day ends in 30 minutes.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 22, 30, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: false, timeZone: Berlin)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));

        var first = tracker.Settle(tracker.Admit("m", "t", 0), 8.5);
        var second = tracker.Settle(tracker.Admit("m", "t", 0), 0.1);
        var third = tracker.Settle(tracker.Admit("m", "t", 0), 2);
        time.Advance(TimeSpan.FromMinutes(31));
        var nextDay = tracker.Settle(tracker.Admit("m", "t", 0), 9);

        Assert.Equal([0.8], first.Select(c => c.Threshold));
        Assert.Empty(second);
        Assert.Equal([1.0], third.Select(c => c.Threshold));
        Assert.Equal([0.8], nextDay.Select(c => c.Threshold));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 23, 0, 0, TimeSpan.Zero), nextDay[0].PeriodStart);
        Assert.Equal(9, tracker.SpentUsd("b"), 9);
    }

    [Fact]
    public void Admit_OtherModelOrTenant_IsOutOfScope()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var budget = Budget(limitUsd: 1, enforce: true) with { Scope = BudgetScope.Tenant, Target = "acme" };
        var tracker = new BudgetTracker([budget], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        tracker.Settle(tracker.Admit("m", "acme", 0), 5);

        Assert.NotNull(tracker.Admit("m", "acme", 0).RefusedBy);
        Assert.Null(tracker.Admit("m", "globex", 0).RefusedBy);
    }

    [Fact]
    public void PeriodOf_Month_StartsOnTheFirstAtLocalMidnight()
    {
        var budget = Budget(10, false, Berlin) with { Period = BudgetPeriod.Month };

        var (start, end) = budget.PeriodOf(new DateTimeOffset(2026, 11, 15, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(new DateTimeOffset(2026, 10, 31, 23, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero), end);
    }

    private static BudgetDefinition Budget(double limitUsd, bool enforce, TimeZoneInfo? timeZone = null) =>
        new("b", BudgetScope.Global, null, BudgetPeriod.Day, timeZone ?? TimeZoneInfo.Utc, limitUsd, [0.8, 1.0], enforce, null);
}
