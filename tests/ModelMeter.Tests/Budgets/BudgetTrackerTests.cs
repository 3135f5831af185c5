using System.Globalization;
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

    [Theory]
    // Zones whose clocks skip from 00:00 to 01:00 when summer time starts: that day's midnight does not exist there.
    [InlineData("America/Santiago", "2026-09-06T12:00:00Z", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z")]
    [InlineData("America/Havana", "2026-03-08T12:00:00Z", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")]
    [InlineData("Africa/Cairo", "2026-04-24T12:00:00Z", "2026-04-23T22:00:00Z", "2026-04-24T21:00:00Z")]
    public void PeriodOf_Day_WhoseMidnightTheClockSkips_StartsAtItsFirstMoment(string zone, string at, string start, string end)
    {
        var budget = Budget(10, false, TimeZoneInfo.FindSystemTimeZoneById(zone));

        var period = budget.PeriodOf(DateTimeOffset.Parse(at, CultureInfo.InvariantCulture));

        Assert.Equal((DateTimeOffset.Parse(start, CultureInfo.InvariantCulture), DateTimeOffset.Parse(end, CultureInfo.InvariantCulture)), period);
        // And the day before ends where this one starts.
        Assert.Equal(period.Start, budget.PeriodOf(period.Start.AddTicks(-1)).End);
    }

    [Fact]
    public void Admit_SpentExactlyTheLimit_IsSpentNotHeld_AndAnAlertOnlyBudgetNeverRefuses()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var alertOnly = Budget(limitUsd: 10, enforce: false) with { Name = "alert" };
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true), alertOnly], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        tracker.Settle(tracker.Admit("m", "t", estimateUsd: 0), 10);

        var refused = tracker.Admit("m", "t", estimateUsd: 1);
        var onlyAlerting = new BudgetTracker([alertOnly], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        onlyAlerting.Settle(onlyAlerting.Admit("m", "t", 0), 25);

        Assert.Equal(("b", false, TimeSpan.FromHours(12)), (refused.RefusedBy, refused.HeldByRequestsInFlight, refused.RetryAfter));
        Assert.Null(onlyAlerting.Admit("m", "t", estimateUsd: 1).RefusedBy);
    }

    [Fact]
    public void Admit_ReservationIsCappedAtTheLimitLessSpentAndReserved()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        tracker.Settle(tracker.Admit("m", "t", estimateUsd: 0), 2); // 2 spent
        var inFlight = tracker.Admit("m", "t", estimateUsd: 3); // 3 reserved

        var greedy = tracker.Admit("m", "t", estimateUsd: 100);

        Assert.Equal(3, inFlight.EstimateUsd);
        Assert.Equal(5, greedy.EstimateUsd); // 10 - 2 - 3
    }

    [Fact]
    public void Settle_ReleasesOnlyItsOwnReservation_OthersInFlightStayHeld()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 6, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        var first = tracker.Admit("m", "t", estimateUsd: 1);
        tracker.Admit("m", "t", estimateUsd: 4); // still in flight

        tracker.Settle(first, 1); // 1 spent, 4 still reserved
        var next = tracker.Admit("m", "t", estimateUsd: 100);

        Assert.Equal(1, next.EstimateUsd); // 6 - 1 - 4
    }

    [Fact]
    public void Settle_ARefusedAdmission_CostsTheBudgetNothing()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 1, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        tracker.Settle(tracker.Admit("m", "t", 0), 1);
        var refused = tracker.Admit("m", "t", 0.5);

        var crossings = tracker.Settle(refused, 5);

        Assert.NotNull(refused.RefusedBy);
        Assert.Empty(crossings);
        Assert.Equal(1, tracker.SpentUsd("b"));
    }

    [Fact]
    public void Settle_ExactlyAtAThreshold_CrossesIt()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: false)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));

        Assert.Equal([0.8], tracker.Settle(tracker.Admit("m", "t", 0), 8).Select(c => c.Threshold));
    }

    [Fact]
    public void Settle_FirstAfterMidnight_CountsInTheNewPeriodAndKeepsNoOldReservation()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 23, 59, 0, TimeSpan.Zero));
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: true)], time, new ModelMeterMetrics(Metrics.NewCustomRegistry()));
        var beforeMidnight = tracker.Admit("m", "t", estimateUsd: 4);
        time.Advance(TimeSpan.FromMinutes(2));

        tracker.Settle(beforeMidnight, 3); // nothing else happened since midnight

        Assert.Equal(3, tracker.SpentUsd("b")); // the cost counts when it ends: in the new day
        Assert.Equal(7, tracker.Admit("m", "t", estimateUsd: 100).EstimateUsd); // no reservation of yesterday's is held today
    }

    [Fact]
    public void SpentUsd_AtTheStrokeOfMidnight_IsANewPeriod_AndTheGaugesFollow()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 23, 0, 0, TimeSpan.Zero));
        var metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry());
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: false)], time, metrics);
        var limitAtStart = metrics.BudgetLimit.WithLabels("b").Value;
        tracker.Settle(tracker.Admit("m", "t", 0), 5);
        var spentGauge = metrics.BudgetSpent.WithLabels("b").Value;

        time.Advance(TimeSpan.FromHours(1)); // exactly midnight UTC

        Assert.Equal(0, tracker.SpentUsd("b"));
        Assert.Equal((10.0, 5.0), (limitAtStart, spentGauge)); // the limit is exported from the start
        Assert.Equal(0, metrics.BudgetSpent.WithLabels("b").Value);
    }

    [Fact]
    public void Seed_SpendSoFar_ThresholdsAlreadyPassedAreNotNotifiedAgain()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry());
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: false)], time, metrics);
        DateTimeOffset? askedFrom = null;

        tracker.Seed((_, from, _) =>
        {
            askedFrom = from;
            return 8.5;
        });
        var small = tracker.Settle(tracker.Admit("m", "t", 0), 0.1);
        var over = tracker.Settle(tracker.Admit("m", "t", 0), 2);

        Assert.Equal(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero), askedFrom); // the current period's start
        Assert.Empty(small); // 0.8 was passed before the restart
        Assert.Equal([1.0], over.Select(c => c.Threshold));
        Assert.Equal(10.6, metrics.BudgetSpent.WithLabels("b").Value, 9);
    }

    [Fact]
    public void Seed_AfterThePeriodTheTrackerStartedIn_SeedsTheCurrentPeriod()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 23, 0, 0, TimeSpan.Zero));
        var metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry());
        var tracker = new BudgetTracker([Budget(limitUsd: 10, enforce: false)], time, metrics);
        time.Advance(TimeSpan.FromHours(2)); // the host started late
        DateTimeOffset? askedFrom = null;

        tracker.Seed((_, from, _) =>
        {
            askedFrom = from;
            return 9;
        });

        Assert.Equal(new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero), askedFrom);
        Assert.Equal(9, metrics.BudgetSpent.WithLabels("b").Value);
    }

    private static BudgetDefinition Budget(double limitUsd, bool enforce, TimeZoneInfo? timeZone = null) =>
        new("b", BudgetScope.Global, null, BudgetPeriod.Day, timeZone ?? TimeZoneInfo.Utc, limitUsd, [0.8, 1.0], enforce, null);
}
