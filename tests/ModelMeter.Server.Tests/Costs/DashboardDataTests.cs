using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Costs;

/// <summary>The cost API's dashboard data: per-model stats with the self-hosting comparison, the model filter, budgets and devices.</summary>
public sealed class DashboardDataTests
{
    [Fact]
    public async Task Stats_PerModelFiguresMatchTheLedger_AndTheReferencePriceComparison()
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Models:demo-small:ReferencePrice:InputPerMillion"] = "150";
        settings["ModelMeter:Models:demo-small:ReferencePrice:OutputPerMillion"] = "600";
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "100";
        await using var clock = new RunningClock();
        await using var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));
        var from = clock.Time.GetUtcNow().AddMinutes(-5);
        for (var i = 0; i < 6; i++)
        {
            (await server.GenerateAsync(i % 3 == 0 ? "demo-medium" : "demo-small", new { prompt = $"stats {i}", max_tokens = 3 + i })).EnsureSuccessStatusCode();
        }

        await clock.StopAsync(); // frozen: no idle time accrues between the requests below
        var to = clock.Time.GetUtcNow().AddMinutes(1);
        var range = $"from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}";
        var stats = await server.Client.GetFromJsonAsync<JsonElement>($"/api/costs/stats?{range}");
        var summary = await server.Client.GetFromJsonAsync<JsonElement>($"/api/costs/summary?{range}&by=model&idle=proportional");

        var rows = LedgerFile.Rows(server.LedgerPath, "SELECT model, input_tokens, output_tokens, cost_usd, latency_seconds FROM requests",
            r => (Model: r.GetString(0), In: r.GetInt64(1), Out: r.GetInt64(2), Cost: r.GetDouble(3), Latency: r.GetDouble(4)));
        var small = stats.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "demo-small");
        var mine = rows.Where(r => r.Model == "demo-small").ToList();
        Assert.Equal(4, small.GetProperty("requests").GetInt64());
        Assert.Equal(mine.Sum(r => r.Out), small.GetProperty("output_tokens").GetInt64());
        Assert.Equal(mine.Sum(r => r.Cost), small.GetProperty("cost_usd").GetDouble(), 12);
        var loaded = summary.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "demo-small").GetProperty("total_usd").GetDouble();
        Assert.Equal(loaded, small.GetProperty("total_usd").GetDouble(), 9);
        Assert.Equal(loaded / mine.Sum(r => r.Out) * 1000, small.GetProperty("cost_per_1k_output_usd").GetDouble(), 9);
        var reference = small.GetProperty("reference");
        var referenceUsd = (mine.Sum(r => r.In) * 150.0 + mine.Sum(r => r.Out) * 600.0) / 1e6;
        Assert.Equal(referenceUsd, reference.GetProperty("cost_usd").GetDouble(), 12);
        Assert.Equal(referenceUsd - loaded, reference.GetProperty("saved_usd").GetDouble(), 9);
        var latencies = mine.Select(r => r.Latency).Order().ToArray();
        Assert.Equal(latencies[2], small.GetProperty("latency_p50_seconds").GetDouble(), 12); // rank floor(0.5 × 4)
        Assert.Equal(latencies[3], small.GetProperty("latency_p99_seconds").GetDouble(), 12);
        Assert.Equal(4 / (to - from).TotalMinutes, small.GetProperty("requests_per_minute").GetDouble(), 6);
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "demo-medium").GetProperty("reference").ValueKind);
        Assert.Equal(2, stats.GetProperty("endpoints").EnumerateArray().Single(e => e.GetProperty("model").GetString() == "demo-medium").GetProperty("requests").GetInt64());

        var budgets = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/budgets");
        var daily = budgets.GetProperty("budgets").EnumerateArray().Single();
        Assert.Equal(100, daily.GetProperty("limit_usd").GetDouble());
        Assert.Equal(rows.Sum(r => r.Cost), daily.GetProperty("spent_usd").GetDouble(), 9);

        var devices = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/devices");
        var cpu = devices.GetProperty("devices").EnumerateArray().Single();
        Assert.Equal("cpu", cpu.GetProperty("device").GetString());
        Assert.Equal(3600, cpu.GetProperty("hourly_usd").GetDouble());
        Assert.Equal(JsonValueKind.Null, cpu.GetProperty("gpu").ValueKind); // no GPU configured here
    }

    [Fact]
    public async Task ModelFilter_KeepsOneModelsRequestsWithoutIdle_AndAnUnknownModelIs400()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600));
        foreach (var model in new[] { "demo-small", "demo-medium", "demo-small" })
        {
            (await server.GenerateAsync(model, new { prompt = "filter me", max_tokens = 3 })).EnsureSuccessStatusCode();
        }

        var byTenant = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=tenant&model=demo-small");
        var row = byTenant.GetProperty("rows").EnumerateArray().Single();
        Assert.Equal(2, row.GetProperty("requests").GetInt64());
        Assert.Equal(0, row.GetProperty("idle_usd").GetDouble());
        var expected = LedgerFile.Rows(server.LedgerPath, "SELECT SUM(cost_usd) FROM requests WHERE model = 'demo-small'", r => r.GetDouble(0)).Single();
        Assert.Equal(expected, byTenant.GetProperty("total_usd").GetDouble(), 12);
        var series = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/timeseries?model=demo-small&step=1m");
        Assert.All(series.GetProperty("points").EnumerateArray(), p => Assert.Equal("demo-small", p.GetProperty("key").GetString()));

        using var unknown = await server.Client.GetAsync("/api/costs/summary?model=gpt-nope");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("model", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }
}
