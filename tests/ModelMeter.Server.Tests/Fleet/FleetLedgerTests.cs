using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Metering;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>Two real replicas, one real ClickHouse: every answered request lands exactly once, and fleet totals are the replicas' bills.</summary>
public sealed class FleetLedgerTests
{
    [Fact]
    public async Task TwoReplicas_EveryRequestOnceInClickHouse_FleetTotalsEqualTheSumOfTheirBills()
    {
        await using var clickHouse = await ClickHouseServer.StartAsync();
        await using var clockA = new RunningClock();
        await using var clockB = new RunningClock();
        // Before A starts: its first idle minute is in the window however long B takes to start on a busy machine.
        var started = clockA.Time.GetUtcNow().AddMinutes(-1);
        var a = await RunningServer.StartAsync(Replica(clickHouse, "node-a"), services: s => s.AddSingleton<TimeProvider>(clockA.Time));
        var b = await RunningServer.StartAsync(Replica(clickHouse, "node-b"), services: s => s.AddSingleton<TimeProvider>(clockB.Time));
        try
        {
            await Task.WhenAll(MixedTrafficAsync(a, 12), MixedTrafficAsync(b, 12));
            Assert.True((await a.Client.GetFromJsonAsync<JsonElement>("/api/costs/devices")).GetProperty("fleet").GetBoolean()); // the dashboard offers "node"

            // Reports through either replica's API read the whole fleet.
            try
            {
                await Eventually.TrueAsync(async () => (await NodesInSummaryAsync(a)).SetEquals(["node-a", "node-b"]), "a fleet summary by node through replica A to show both nodes");
            }
            catch (Xunit.Sdk.XunitException e)
            {
                using var summary = await a.Client.GetAsync("/api/costs/summary?by=node");
                var inClickHouse = await clickHouse.Client.QueryAsync("SELECT node, count() AS n, max(ended) AS last FROM fleet.requests GROUP BY node");
                var idle = await clickHouse.Client.QueryAsync("SELECT node, count() AS n, max(minute) AS last FROM fleet.idle GROUP BY node");
                var versions = await clickHouse.Client.QueryAsync("SELECT version FROM fleet.schema_version");
                throw new Xunit.Sdk.XunitException($"{e.Message} Summary {(int)summary.StatusCode}: {await summary.Content.ReadAsStringAsync()}; "
                    + $"requests {string.Join(" ", inClickHouse)}; idle {string.Join(" ", idle)}; schema {string.Join(" ", versions)}; "
                    + $"clocks A {clockA.Time.GetUtcNow():O} B {clockB.Time.GetUtcNow():O}, longest ticks {clockA.LongestAdvance} {clockB.LongestAdvance}; "
                    + $"outbox A {LedgerFile.Rows(a.LedgerPath, "SELECT COUNT(*) FROM outbox", r => r.GetInt64(0)).Single()} B {LedgerFile.Rows(b.LedgerPath, "SELECT COUNT(*) FROM outbox", r => r.GetInt64(0)).Single()}");
            }

            var bills = new Dictionary<string, double>();
            foreach (var (node, server, clock) in new[] { ("node-a", a, clockA), ("node-b", b, clockB) })
            {
                var meter = server.Services.GetRequiredService<CostMeter>();
                await clock.StopAsync();
                await server.StopAsync(); // the last idle minute is written and everything is shipped
                bills[node] = meter.Devices.Single().Snapshot().BillUsd;
            }

            var shipped = await clickHouse.Client.QueryAsync("SELECT node, request_id, count() AS n FROM fleet.requests FINAL GROUP BY node, request_id");
            foreach (var (node, server) in new[] { ("node-a", a), ("node-b", b) })
            {
                var local = LedgerFile.RequestIds(server.LedgerPath);
                var remote = shipped.Where(r => r.GetProperty("node").GetString() == node).ToList();
                Assert.Equal(local.Order(StringComparer.Ordinal), remote.Select(r => r.GetProperty("request_id").GetString()!).Order(StringComparer.Ordinal));
                Assert.All(remote, r => Assert.Equal(1, r.GetProperty("n").GetInt64()));
                Assert.Equal(0, LedgerFile.Rows(server.LedgerPath, "SELECT COUNT(*) FROM outbox", r => r.GetInt64(0)).Single());
            }

            var fleet = new ClickHouseLedger(clickHouse.Client, "fleet");
            var byNode = await fleet.SummarizeAsync(started, clockA.Time.GetUtcNow().AddMinutes(2), CostGrouping.Node, IdleSharing.Separate);
            foreach (var (node, bill) in bills)
            {
                var total = byNode.Rows.Single(r => r.Key == node).TotalUsd;
                Assert.True(Math.Abs(total - bill) / bill < 1e-6, $"{node}: the fleet ledger says {total}, its device bill is {bill}");
            }

            Assert.True(Math.Abs(byNode.TotalUsd - bills.Values.Sum()) / bills.Values.Sum() < 1e-6);

            // `report` on the command line reads the fleet too when ClickHouse is configured.
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = ModelMeter.Server.Cli.CommandLine.Run(
                ["report", "--by", "node", "--since", "1h", "--format", "csv",
                 "--ModelMeter:Ledger:Provider=ClickHouse", $"--ModelMeter:Ledger:ClickHouse:Url={clickHouse.Url}", "--ModelMeter:Ledger:ClickHouse:Database=fleet"],
                output, error);
            Assert.True(code == 0, error.ToString());
            var lines = output.ToString().Trim().Split('\n').Skip(1).Select(l => l.Split(',')).ToDictionary(f => f[0]);
            Assert.Equal(LedgerFile.RequestIds(a.LedgerPath).Count.ToString(System.Globalization.CultureInfo.InvariantCulture), lines["node-a"][1]);
            Assert.Equal(LedgerFile.RequestIds(b.LedgerPath).Count.ToString(System.Globalization.CultureInfo.InvariantCulture), lines["node-b"][1]);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClickHouseDownForThirtySecondsUnderLoad_ReplicaKeepsServingStrict_AndEveryRowArrivesOnceAfterwards()
    {
        await using var clickHouse = await ClickHouseServer.StartAsync();
        var settings = Replica(clickHouse, "unused");
        settings.Remove("ModelMeter:Node"); // the default: host name and port
        await using var server = await RunningServer.StartAsync(settings);
        var answered = new ConcurrentBag<string>();
        var answeredWhileDown = 0;
        var down = false;
        using var load = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            while (!load.IsCancellationRequested)
            {
                using var response = await server.GenerateAsync("demo-small", new { prompt = $"worker {worker}", max_tokens = 4 });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode); // Strict waits for the local commit only
                answered.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("request_id").GetString()!);
                if (Volatile.Read(ref down))
                {
                    Interlocked.Increment(ref answeredWhileDown);
                }
            }
        })).ToArray();

        await Eventually.TrueAsync(() => answered.Count >= 20, "requests before the outage");
        await clickHouse.StopAsync();
        Volatile.Write(ref down, true);
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["ledger_ship_failures_total"] >= 2, "shipments to fail while ClickHouse is down");
        var outage = DateTime.UtcNow.AddSeconds(30);
        await Eventually.TrueAsync(() => DateTime.UtcNow >= outage, "thirty seconds of outage under load", seconds: 60);
        Assert.True((await server.ScrapeAsync())["ledger_ship_lag_seconds"] > 1, "the lag should show rows waiting");
        Volatile.Write(ref down, false);
        await clickHouse.StartAgainAsync();
        await load.CancelAsync();
        await Task.WhenAll(workers);

        await Eventually.TrueAsync(
            () => LedgerFile.Rows(server.LedgerPath, "SELECT COUNT(*) FROM outbox", r => r.GetInt64(0)).Single() == 0, "the outbox to empty once ClickHouse is back", seconds: 90);
        var shipped = await clickHouse.Client.QueryAsync("SELECT node, request_id, count() AS n FROM fleet.requests FINAL GROUP BY node, request_id");
        Assert.All(shipped, r => Assert.Equal($"{Environment.MachineName}:{server.Client.BaseAddress!.Port}", r.GetProperty("node").GetString()));
        Assert.True(answeredWhileDown > 10, $"only {answeredWhileDown} requests were answered while ClickHouse was down");
        Assert.Equal(answered.Order(StringComparer.Ordinal), shipped.Select(r => r.GetProperty("request_id").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(shipped, r => Assert.Equal(1, r.GetProperty("n").GetInt64()));
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["ledger_ship_lag_seconds"] == 0, "the lag to fall to 0");
    }

    [Fact]
    public async Task ClickHouseUnreachable_CostApiAnswers503NamingIt()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Ledger:Provider"] = "ClickHouse";
        settings["ModelMeter:Ledger:ClickHouse:Url"] = "http://127.0.0.1:9/";
        settings["ModelMeter:Ledger:ClickHouse:TimeoutSeconds"] = "2";
        await using var server = await RunningServer.StartAsync(settings);

        using var response = await server.Client.GetAsync("/api/costs/summary");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("ClickHouse", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.NotNull(response.Headers.RetryAfter);
    }

    private static Dictionary<string, string?> Replica(ClickHouseServer clickHouse, string node)
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Node"] = node;
        settings["ModelMeter:Ledger:Provider"] = "ClickHouse";
        settings["ModelMeter:Ledger:ClickHouse:Url"] = clickHouse.Url.ToString();
        settings["ModelMeter:Ledger:ClickHouse:Database"] = "fleet";
        settings["ModelMeter:Ledger:ClickHouse:ShipIntervalMs"] = "100";
        return settings;
    }

    /// <summary>Plain and streamed requests on two models, <paramref name="count"/> at once.</summary>
    private static Task MixedTrafficAsync(RunningServer server, int count) => Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        var model = i % 2 == 0 ? "demo-small" : "demo-medium";
        using var response = i % 3 == 0
            ? await server.Client.PostAsJsonAsync("/v1/completions", new { model, prompt = $"stream {i}", max_tokens = 8, stream = true })
            : await server.GenerateAsync(model, new { prompt = $"request {i}", max_tokens = 8 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
    }));

    /// <summary>The nodes in a fleet summary; none while the fleet ledger cannot be read yet (503 until a replica has created its tables).</summary>
    private static async Task<HashSet<string>> NodesInSummaryAsync(RunningServer server)
    {
        using var response = await server.Client.GetAsync("/api/costs/summary?by=node");
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return [];
        }

        var summary = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        return summary.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("key").GetString()!).ToHashSet();
    }
}
