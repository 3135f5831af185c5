using System.Collections.Concurrent;
using System.Net;
using ModelMeter.Server.Tests.Budgets;
using ModelMeter.Server.Tests.Ledger;
using StackExchange.Redis;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>Two real replicas, one real Redis: a fleet budget holds across both, and Redis going away does what was configured.</summary>
public sealed class FleetBudgetTests
{
    [Fact]
    public async Task EnforcedBudget_HitThroughTwoReplicasAtOnce_HoldsForTheFleet_EachThresholdPostedOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var hook = await WebhookListener.StartAsync();
        var noon = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero); // a fake clock at noon: the test cannot straddle midnight
        await using var clockA = new RunningClock(noon);
        await using var clockB = new RunningClock(noon);
        await using var a = await RunningServer.StartAsync(Replica(redis, hook.Url), services: s => s.AddSingleton<TimeProvider>(clockA.Time));
        await using var b = await RunningServer.StartAsync(Replica(redis, hook.Url), services: s => s.AddSingleton<TimeProvider>(clockB.Time));

        // Three clients per replica until both refuse.
        var refusals = new ConcurrentBag<HttpResponseMessage>();
        await Task.WhenAll(new[] { a, b }.SelectMany(server => Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                var response = await server.GenerateAsync("demo-medium", new { prompt = "spend together", max_tokens = 12 });
                if (response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.RetryAfter!.Delta!.Value > TimeSpan.FromMinutes(1))
                {
                    refusals.Add(response); // spent: the period must end
                    return;
                }

                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    // Held by requests in flight: a well-behaved client waits as long as it is told and tries again.
                    var wait = response.Headers.RetryAfter!.Delta!.Value;
                    response.Dispose();
                    await Task.Delay(wait);
                    continue;
                }

                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                response.Dispose();
            }
        }))));

        Assert.Equal(6, refusals.Count);
        Assert.All(refusals, r => Assert.InRange(r.Headers.RetryAfter!.Delta!.Value.TotalHours, 11, 12));
        var rows = new[] { a, b }.SelectMany(s => LedgerFile.Rows(s.LedgerPath, "SELECT cost_usd FROM requests", r => r.GetDouble(0))).ToList();
        var spent = rows.Sum();
        // Both replicas served (a per-replica budget would have let each spend the whole limit, up to twice over); the
        // fleet overshoots by no more than what was in flight at the crossing: at most one request per client.
        Assert.True(spent >= Limit, $"the fleet spent {spent}, under the limit {Limit}, yet refused");
        Assert.True(spent <= Limit + 6 * rows.Max(), $"the fleet spent {spent}: more than the limit {Limit} plus six requests in flight ({rows.Max()} each at most)");
        Assert.True(LedgerFile.RequestIds(a.LedgerPath).Count > 0 && LedgerFile.RequestIds(b.LedgerPath).Count > 0, "both replicas should have served");

        await using var connection = await redis.ConnectAsync();
        var day = new DateTimeOffset(noon.Year, noon.Month, noon.Day, 0, 0, 0, TimeSpan.Zero);
        var redisSpent = (double)await connection.GetDatabase().HashGetAsync($"modelmeter:budget:daily:{day.ToUnixTimeSeconds()}", "spent");
        Assert.Equal(spent, redisSpent, 9); // every settlement counted once, from both replicas

        await Eventually.TrueAsync(() => hook.Received.Count >= 2, "both threshold webhooks");
        await Task.Delay(300); // the absence of a duplicate can only be seen by waiting: one would have been queued before the 429s
        Assert.Equal([0.5, 1.0], hook.Received.Select(r => r.GetProperty("threshold").GetDouble()).Order());
    }

    [Fact]
    public async Task RedisStopped_OpenServesAndCounts_ClosedRefusesWith429()
    {
        await using var redis = await RedisServer.StartAsync();
        var openSettings = Replica(redis, hookUrl: null);
        var closedSettings = Replica(redis, hookUrl: null);
        closedSettings["ModelMeter:BudgetStore:OnUnavailable"] = "Closed";
        await using var open = await RunningServer.StartAsync(openSettings);
        await using var closed = await RunningServer.StartAsync(closedSettings);
        using (var before = await closed.GenerateAsync("demo-small", new { prompt = "before", max_tokens = 2 }))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await redis.StopAsync();

        using (var served = await open.GenerateAsync("demo-small", new { prompt = "open", max_tokens = 2 }))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }

        Assert.True((await open.ScrapeAsync())["budget_store_unavailable_total{operation=\"admit\"}"] >= 1);
        using (var refused = await closed.GenerateAsync("demo-small", new { prompt = "closed", max_tokens = 2 }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        await redis.StartAgainAsync();
        await Eventually.TrueAsync(async () =>
        {
            using var again = await closed.GenerateAsync("demo-small", new { prompt = "again", max_tokens = 2 });
            return again.StatusCode == HttpStatusCode.OK;
        }, "the Closed replica to serve again once Redis is back");
    }

    [Fact]
    public async Task LostSettlements_AreHealedFromTheFleetLedger()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var clickHouse = await ClickHouseServer.StartAsync();
        var settings = Replica(redis, hookUrl: null);
        settings["ModelMeter:Budgets:0:Action"] = "Alert";
        settings["ModelMeter:BudgetStore:ReconcileSeconds"] = "1";
        settings["ModelMeter:Ledger:Provider"] = "ClickHouse";
        settings["ModelMeter:Ledger:ClickHouse:Url"] = clickHouse.Url.ToString();
        settings["ModelMeter:Ledger:ClickHouse:ShipIntervalMs"] = "100";
        var noon = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero); // a fake clock at noon: the test cannot straddle midnight
        await using var clock = new RunningClock(noon);
        await using var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));
        for (var i = 0; i < 5; i++)
        {
            (await server.GenerateAsync("demo-small", new { prompt = $"spend {i}", max_tokens = 4 })).EnsureSuccessStatusCode();
        }

        // Redis loses what it knew (a restart without persistence, or settlements that failed while it was down).
        await using var connection = await redis.ConnectAsync();
        var key = $"modelmeter:budget:daily:{new DateTimeOffset(noon.Year, noon.Month, noon.Day, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds()}";
        await connection.GetDatabase().HashSetAsync(key, "spent", "0");

        var ledger = LedgerFile.RequestCostUsd(server.LedgerPath);
        await Eventually.TrueAsync(async () => Math.Abs((double)await connection.GetDatabase().HashGetAsync(key, "spent") - ledger) < 1e-9,
            "the budget's spend to be set from the fleet ledger again");
    }

    private const double Limit = 1.0;

    private static Dictionary<string, string?> Replica(RedisServer redis, string? hookUrl)
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600); // 1 USD per device-second
        settings["ModelMeter:BudgetStore:Provider"] = "Redis";
        settings["ModelMeter:BudgetStore:Redis:Configuration"] = redis.Configuration;
        settings["ModelMeter:BudgetStore:Redis:TimeoutMs"] = "500";
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:Scope"] = "Global";
        settings["ModelMeter:Budgets:0:Period"] = "Day";
        settings["ModelMeter:Budgets:0:LimitUsd"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["ModelMeter:Budgets:0:Thresholds:0"] = "0.5";
        settings["ModelMeter:Budgets:0:Thresholds:1"] = "1.0";
        settings["ModelMeter:Budgets:0:Action"] = "Enforce";
        if (hookUrl is not null)
        {
            settings["ModelMeter:Budgets:0:WebhookUrl"] = hookUrl;
        }

        return settings;
    }
}
