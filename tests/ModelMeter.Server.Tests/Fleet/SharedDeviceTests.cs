using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>
/// Two gateway replicas (ClickHouse ledger) in front of one upstream, a third ModelMeter serving a demo model on the
/// device they share, with callers that go to the upstream directly: the device is billed once, split over both
/// replicas' requests, and the bypassing load shows as unmetered.
/// </summary>
public sealed class SharedDeviceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double HourlyUsd = 36; // 0.6 USD a minute

    [Fact]
    public async Task TwoGatewaysOneUpstream_SettledMinutes_AddUpToOneBill_BypassIsUnmetered_EveryRequestPays()
    {
        await using var clickHouse = await ClickHouseServer.StartAsync();
        await using var upstream = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 1, "demo-large"));
        await using var clockA = new RunningClock();
        await using var clockB = new RunningClock(clockA.Time.GetUtcNow().AddMilliseconds(300)); // B's clock runs 300 ms ahead
        var a = await RunningServer.StartAsync(Gateway(clickHouse, upstream, "gw-a"), services: s => s.AddSingleton<TimeProvider>(clockA.Time));
        var b = await RunningServer.StartAsync(Gateway(clickHouse, upstream, "gw-b"), services: s => s.AddSingleton<TimeProvider>(clockB.Time));
        try
        {
            // Through both gateways and straight to the upstream at once, with a reading of its load between the requests.
            await Task.WhenAll(TrafficAsync(a, "large", 4, 3), TrafficAsync(b, "large", 4, 3), TrafficAsync(upstream, "demo-large", 3, 3));

            // Close the minutes: both replicas' clocks move two minutes on; their watermarks pass the traffic and settling follows.
            var traffic = clockA.Time.GetUtcNow();
            clockA.Time.Advance(TimeSpan.FromMinutes(2));
            clockB.Time.Advance(TimeSpan.FromMinutes(2));
            var fleet = new ClickHouseLedger(clickHouse.Client, "shared") { SharedDevices = ["gpu0"] };
            var settledThrough = await Eventually.ValueAsync(
                () => fleet.SettledThroughAsync("gpu0"), t => t > traffic.AddMinutes(1), "the minutes of the traffic to be settled", seconds: 60);
            await Eventually.TrueAsync(
                async () => (await clickHouse.Client.QueryAsync("SELECT uniqExact(node, request_id) AS n FROM shared.shared_costs FINAL")).Single().GetProperty("n").GetInt64() == 24,
                "every request of both replicas to be in the settled figures (a replica's rows may arrive after a first settling)");
            settledThrough = await fleet.SettledThroughAsync("gpu0");

            var minutes = await clickHouse.Client.QueryAsync(
                "SELECT minute_ms, bill_usd, idle_usd, unmetered_usd, requests FROM shared.shared_minutes FINAL WHERE device = 'gpu0' ORDER BY minute_ms");
            var costs = await clickHouse.Client.QueryAsync(
                "SELECT minute_ms AS m, node, request_id, cost_usd FROM shared.shared_costs FINAL WHERE device = 'gpu0'");
            Assert.NotEmpty(minutes);
            foreach (var minute in minutes)
            {
                var at = minute.GetProperty("minute_ms").GetInt64();
                var requests = costs.Where(c => c.GetProperty("m").GetInt64() == at).Sum(c => c.GetProperty("cost_usd").GetDouble());
                Assert.Equal(HourlyUsd / 60, minute.GetProperty("bill_usd").GetDouble(), 9); // once, for two replicas
                Assert.Equal(HourlyUsd / 60, requests + minute.GetProperty("idle_usd").GetDouble() + minute.GetProperty("unmetered_usd").GetDouble(), 9);
            }

            Assert.True(minutes.Sum(m => m.GetProperty("unmetered_usd").GetDouble()) > 0, "the direct callers' load is unmetered");

            // Every request through either gateway has its share, under its own replica's name.
            foreach (var (node, server) in new[] { ("gw-a", a), ("gw-b", b) })
            {
                var ids = LedgerFile.RequestIds(server.LedgerPath);
                Assert.Equal(12, ids.Count);
                Assert.All(ids, id => Assert.True(
                    costs.Where(c => c.GetProperty("node").GetString() == node && c.GetProperty("request_id").GetString() == id).Sum(c => c.GetProperty("cost_usd").GetDouble()) > 0,
                    $"{node}'s request {id} has no settled cost"));
            }

            // The fleet summary over the settled minutes: the device's bill once, with the unmetered load apart.
            var first = DateTimeOffset.FromUnixTimeMilliseconds(minutes[0].GetProperty("minute_ms").GetInt64());
            var summary = await fleet.SummarizeAsync(first, settledThrough!.Value, CostGrouping.Device, IdleSharing.Separate);
            output.WriteLine($"{minutes.Count} minutes settled; by device: {string.Join("; ", summary.Rows.Select(r => $"{r.Key} {r.Requests} req {r.CostUsd:0.000000} + idle {r.IdleUsd:0.000000}"))}; total {summary.TotalUsd:0.000000}");
            Assert.Equal(HourlyUsd * (settledThrough.Value - first).TotalHours, summary.TotalUsd, 9);
            Assert.Contains(summary.Rows, r => r.IsUnmetered && r.Key == "(unmetered) gpu0" && r.CostUsd > 0);
            Assert.Equal(24, summary.Rows.Sum(r => r.Requests));

            // By node: each replica's requests under its name; idle and unmetered belong to no replica.
            var byNode = await fleet.SummarizeAsync(first, settledThrough.Value, CostGrouping.Node, IdleSharing.Separate);
            Assert.Equal(summary.TotalUsd, byNode.TotalUsd, 9);
            Assert.Equal(["(idle) gpu0", "(unmetered) gpu0", "gw-a", "gw-b"], byNode.Rows.Select(r => r.Key).Order(StringComparer.Ordinal));
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task AReplicaStopsAndStartsAgain_EveryMinuteIsStillOneBill_AndBothOfItsLivesPay()
    {
        await using var clickHouse = await ClickHouseServer.StartAsync();
        await using var upstream = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 1, "demo-small"));
        var bRoot = Directory.CreateTempSubdirectory("modelmeter-restart-").FullName;
        await using var clockA = new RunningClock();
        var a = await RunningServer.StartAsync(Gateway(clickHouse, upstream, "gw-a", "demo-small"), services: s => s.AddSingleton<TimeProvider>(clockA.Time));
        try
        {
            await using (var clockB = new RunningClock(clockA.Time.GetUtcNow()))
            {
                await using var b = await RunningServer.StartAsync(Gateway(clickHouse, upstream, "gw-b", "demo-small"), contentRoot: bRoot, services: s => s.AddSingleton<TimeProvider>(clockB.Time));
                await Task.WhenAll(TrafficAsync(a, "small", 2, 2), TrafficAsync(b, "small", 2, 2));
            }

            clockA.Time.Advance(TimeSpan.FromMinutes(1)); // a minute with gw-b gone
            await TrafficAsync(a, "small", 2, 2);
            await using var clockB2 = new RunningClock(clockA.Time.GetUtcNow());
            await using (var b2 = await RunningServer.StartAsync(Gateway(clickHouse, upstream, "gw-b", "demo-small"), contentRoot: bRoot, services: s => s.AddSingleton<TimeProvider>(clockB2.Time)))
            {
                await Task.WhenAll(TrafficAsync(a, "small", 2, 2), TrafficAsync(b2, "small", 2, 2));
                var traffic = clockA.Time.GetUtcNow();
                clockA.Time.Advance(TimeSpan.FromMinutes(2));
                clockB2.Time.Advance(TimeSpan.FromMinutes(2));
                var fleet = new ClickHouseLedger(clickHouse.Client, "shared") { SharedDevices = ["gpu0"] };
                await Eventually.ValueAsync(() => fleet.SettledThroughAsync("gpu0"), t => t > traffic.AddMinutes(1), "the minutes after the restart to be settled", seconds: 60);
                await Eventually.TrueAsync(
                    async () => (await clickHouse.Client.QueryAsync("SELECT uniqExact(node, request_id) AS n FROM shared.shared_costs FINAL")).Single().GetProperty("n").GetInt64() == 20,
                    "every request of both replicas (both lives of gw-b) to be in the settled figures");
            }

            var minutes = await clickHouse.Client.QueryAsync("SELECT minute_ms AS m, bill_usd AS b, idle_usd AS i, unmetered_usd AS u FROM shared.shared_minutes FINAL WHERE device = 'gpu0'");
            var costs = await clickHouse.Client.QueryAsync("SELECT minute_ms AS m, node, request_id, cost_usd AS c FROM shared.shared_costs FINAL WHERE device = 'gpu0'");
            Assert.True(minutes.Count >= 3, $"{minutes.Count} minutes settled");
            Assert.All(minutes, minute => Assert.Equal(
                minute.GetProperty("b").GetDouble(),
                costs.Where(c => c.GetProperty("m").GetInt64() == minute.GetProperty("m").GetInt64()).Sum(c => c.GetProperty("c").GetDouble())
                    + minute.GetProperty("i").GetDouble() + minute.GetProperty("u").GetDouble(),
                9));
            Assert.All(minutes, minute => Assert.Equal(HourlyUsd / 60, minute.GetProperty("b").GetDouble(), 9));
            var ids = LedgerFile.RequestIds(Path.Combine(bRoot, "data", "ledger.db"));
            Assert.Equal(8, ids.Count); // both lives of gw-b, one ledger file
            Assert.All(ids, id => Assert.Contains(costs, c => c.GetProperty("node").GetString() == "gw-b" && c.GetProperty("request_id").GetString() == id && c.GetProperty("c").GetDouble() > 0));
            Assert.Equal(12, costs.Where(c => c.GetProperty("node").GetString() == "gw-a").Select(c => c.GetProperty("request_id").GetString()).Distinct().Count());
        }
        finally
        {
            await a.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(bRoot, recursive: true);
        }
    }

    [Fact]
    public async Task LoadUnreadable_FailuresAreCounted_AndRequestsAreServedAsUsual()
    {
        await using var upstream = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 1, "demo-small"));
        var settings = Gateway(new Uri($"http://127.0.0.1:{FreePorts.Next()}/"), upstream, "gw-a", "demo-small");
        settings["ModelMeter:Devices:gpu0:Load:MetricsUrl"] = $"http://127.0.0.1:{FreePorts.Next()}/metrics"; // nothing listens
        settings["ModelMeter:Ledger:Durability"] = "Relaxed"; // the fleet ledger is down too: the local file takes the rows
        await using var gateway = await RunningServer.StartAsync(settings);

        await Eventually.TrueAsync(async () => (await gateway.ScrapeAsync())["device_load_scrape_failures_total{device=\"gpu0\"}"] >= 3, "failed readings to be counted");
        using var response = await gateway.Client.PostAsJsonAsync("/v1/completions", new { model = "small", prompt = "still served?", max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Dictionary<string, string?> Gateway(ClickHouseServer clickHouse, RunningServer upstream, string node, string upstreamModel = "demo-large") =>
        Gateway(clickHouse.Url, upstream, node, upstreamModel);

    private static Dictionary<string, string?> Gateway(Uri clickHouse, RunningServer upstream, string node, string upstreamModel = "demo-large") => new()
    {
        ["ModelMeter:Node"] = node,
        ["ModelMeter:Ledger:Provider"] = "ClickHouse",
        ["ModelMeter:Ledger:ClickHouse:Url"] = clickHouse.ToString(),
        ["ModelMeter:Ledger:ClickHouse:Database"] = "shared",
        ["ModelMeter:Ledger:ClickHouse:ShipIntervalMs"] = "100",
        ["ModelMeter:Ledger:ClickHouse:SettleIntervalMs"] = "200",
        ["ModelMeter:Ledger:ClickHouse:NodeTimeoutSeconds"] = "600", // the tests move clocks minutes at once: that is not a replica gone silent
        ["ModelMeter:Devices:gpu0:HourlyUsd"] = HourlyUsd.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ModelMeter:Devices:gpu0:Shared"] = "true",
        ["ModelMeter:Devices:gpu0:Load:MetricsUrl"] = new Uri(upstream.Client.BaseAddress!, "/metrics").ToString(),
        ["ModelMeter:Devices:gpu0:Load:Metric"] = "model_inflight_requests",
        ["ModelMeter:Devices:gpu0:Load:IntervalMs"] = "100",
        [$"ModelMeter:Models:{Name(upstreamModel)}:Backend"] = "OpenAI",
        [$"ModelMeter:Models:{Name(upstreamModel)}:BaseUrl"] = new Uri(upstream.Client.BaseAddress!, "/v1").ToString(),
        [$"ModelMeter:Models:{Name(upstreamModel)}:UpstreamModel"] = upstreamModel,
        [$"ModelMeter:Models:{Name(upstreamModel)}:Device"] = "gpu0",
    };

    /// <summary>The gateway's name for an upstream demo model: demo-large is large.</summary>
    private static string Name(string upstreamModel) => upstreamModel["demo-".Length..];

    /// <summary><paramref name="clients"/> callers, each sending <paramref name="each"/> completions one after another.</summary>
    private static Task TrafficAsync(RunningServer server, string model, int clients, int each) => Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        for (var i = 0; i < each; i++)
        {
            using var response = await server.Client.PostAsJsonAsync("/v1/completions", new { model, prompt = $"client {c} request {i}", max_tokens = 24, temperature = 0 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadFromJsonAsync<JsonElement>();
        }
    }));
}
