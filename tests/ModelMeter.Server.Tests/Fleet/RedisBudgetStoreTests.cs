using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using Prometheus;
using StackExchange.Redis;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>The Redis budget store on Debian's real redis-server: one count for the fleet, atomic and idempotent.</summary>
public sealed class RedisBudgetStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly List<ConnectionMultiplexer> _connections = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task TwoReplicas_ShareOneCount_TheSecondIsRefusedOnceTheFleetHasReservedTheLimit()
    {
        var budget = Budget(limitUsd: 1.0, enforce: true);
        var (a, b) = (await StoreAsync(budget), await StoreAsync(budget));

        var admitted = new List<BudgetAdmission>();
        foreach (var (store, i) in new[] { a, b, a, b }.Select((s, i) => (s, i)))
        {
            var admission = await store.AdmitAsync($"r{i}", "m", "t", 0.3);
            Assert.Null(admission.RefusedBy); // 0, 0.3, 0.6, 0.9 reserved before each: under the limit
            admitted.Add(admission);
        }

        Assert.Equal(0.1, admitted[3].EstimateUsd, 12); // capped at what was left of the fleet's budget
        var refused = await a.AdmitAsync("r4", "m", "t", 0.3);
        Assert.Equal("daily", refused.RefusedBy); // 1.0 reserved across both replicas; each alone holds only 0.6
        // Nothing is spent yet: the requests in flight hold the rest, so retry soon, not at the period's end.
        Assert.Equal((true, TimeSpan.FromSeconds(1)), (refused.HeldByRequestsInFlight, refused.RetryAfter));

        await b.SettleAsync(admitted[0], 0.05);
        await a.SettleAsync(admitted[1], 0.05);
        Assert.Null((await b.AdmitAsync("r5", "m", "t", 0.3)).RefusedBy); // 0.1 spent + 0.4 reserved: room again
        Assert.Equal(0.1, await a.SpentAsync(budget, budget.PeriodOf(Noon).Start), 12);

        await a.SettleAsync(admitted[2], 0.5);
        await b.SettleAsync(admitted[3], 0.5); // 1.1 spent: refused until the period ends
        var spent = await b.AdmitAsync("r6", "m", "t", 0.3);
        Assert.Equal(("daily", false), (spent.RefusedBy, spent.HeldByRequestsInFlight));
        Assert.InRange(spent.RetryAfter.TotalHours, 11.9, 12.0);
    }

    [Fact]
    public async Task AdmittingOrSettlingTheSameRequestTwice_CountsOnce()
    {
        var budget = Budget(limitUsd: 1.0, enforce: true);
        var (a, b) = (await StoreAsync(budget), await StoreAsync(budget));

        var first = await a.AdmitAsync("same", "m", "t", 0.6);
        var retried = await b.AdmitAsync("same", "m", "t", 0.6); // a retry of the same request through another replica
        Assert.Null(first.RefusedBy);
        Assert.Null(retried.RefusedBy);
        Assert.Null((await a.AdmitAsync("other", "m", "t", 0.3)).RefusedBy); // 0.6 reserved once, not 1.2

        await a.SettleAsync(first, 0.25);
        await b.SettleAsync(retried, 0.25);
        Assert.Equal(0.25, await a.SpentAsync(budget, budget.PeriodOf(Noon).Start), 12);
    }

    [Fact]
    public async Task Thresholds_AreCrossedOncePerPeriodForTheWholeFleet()
    {
        var budget = Budget(limitUsd: 1.0, enforce: false);
        var (a, b) = (await StoreAsync(budget), await StoreAsync(budget));

        var crossings = new List<BudgetCrossing>();
        for (var i = 0; i < 6; i++)
        {
            var store = i % 2 == 0 ? a : b;
            crossings.AddRange(await store.SettleAsync(await store.AdmitAsync($"r{i}", "m", "t", 0), 0.3));
        }

        Assert.Equal([0.5, 1.0], crossings.Select(c => c.Threshold));
        Assert.Equal(0.6, crossings[0].SpentUsd, 12);
        Assert.Equal(1.2, crossings[1].SpentUsd, 12);
    }

    [Fact]
    public async Task AReservationTakenBeforeMidnight_SettledAfter_FreesTheOldPeriodAndCountsInTheNew()
    {
        var budget = Budget(limitUsd: 1.0, enforce: true);
        var store = await StoreAsync(budget);
        _time.SetUtcNow(Noon.Date.AddDays(1).AddSeconds(-1));
        var old = budget.PeriodOf(_time.GetUtcNow()).Start;
        var late = await store.AdmitAsync("late", "m", "t", 0.9);

        _time.Advance(TimeSpan.FromSeconds(2)); // past midnight
        var fresh = budget.PeriodOf(_time.GetUtcNow()).Start;
        Assert.Null((await store.AdmitAsync("new", "m", "t", 0.95)).RefusedBy); // the new period starts empty
        await store.SettleAsync(late, 0.04);

        Assert.Equal(0.04, await store.SpentAsync(budget, fresh), 12);
        Assert.Equal(0, await store.SpentAsync(budget, old));
        var database = _connections[0].GetDatabase();
        Assert.Equal(0, (double)await database.HashGetAsync($"test:budget:daily:{old.ToUnixTimeSeconds()}", "reserved"), 12);
    }

    [Fact]
    public async Task RedisDown_OpenAdmitsAndCounts_ClosedRefusesOnlyUnderAnEnforcingBudget()
    {
        var enforcing = Budget(limitUsd: 1.0, enforce: true);
        var alerting = Budget(limitUsd: 1.0, enforce: false) with { Name = "alert", Scope = BudgetScope.Model, Target = "other" };
        var metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry());
        var open = await StoreAsync(enforcing, BudgetStoreFailureMode.Open, metrics, alerting);
        var closed = await StoreAsync(enforcing, BudgetStoreFailureMode.Closed, metrics, alerting);
        await _redis.StopAsync();

        var admitted = await open.AdmitAsync("a", "m", "t", 0.1);
        Assert.Null(admitted.RefusedBy);
        Assert.Empty(await open.SettleAsync(admitted, 0.1));
        Assert.Equal("daily", (await closed.AdmitAsync("b", "m", "t", 0.1)).RefusedBy);
        var onlyAlert = Budget(limitUsd: 1.0, enforce: false) with { Name = "alert-only" };
        Assert.Null((await (await StoreAsync(onlyAlert, BudgetStoreFailureMode.Closed, metrics)).AdmitAsync("c", "m", "t", 0.1)).RefusedBy);
        Assert.True(metrics.BudgetStoreUnavailable.WithLabels("admit").Value >= 3);

        await _redis.StartAgainAsync();
        await Eventually.TrueAsync(async () => (await closed.AdmitAsync($"d{Guid.NewGuid():N}", "m", "t", 0.1)).RefusedBy is null, "admission to work again once Redis is back");
    }

    private async Task<RedisBudgetStore> StoreAsync(BudgetDefinition budget, BudgetStoreFailureMode mode = BudgetStoreFailureMode.Open, ModelMeterMetrics? metrics = null, params BudgetDefinition[] more)
    {
        var connection = await _redis.ConnectAsync();
        _connections.Add(connection);
        return new RedisBudgetStore(connection, [budget, .. more], new BudgetStoreOptions { Redis = new() { KeyPrefix = "test:" }, OnUnavailable = mode }, _time,
            metrics ?? new ModelMeterMetrics(Metrics.NewCustomRegistry()), NullLogger<RedisBudgetStore>.Instance);
    }

    private static BudgetDefinition Budget(double limitUsd, bool enforce) =>
        new("daily", BudgetScope.Global, null, BudgetPeriod.Day, TimeZoneInfo.Utc, limitUsd, [0.5, 1.0], enforce, null);
}
