using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ModelMeter.IntegrationTests.Monitoring;

/// <summary>Every query of the bundle run against a real Prometheus scraping two real servers.</summary>
public sealed class LivePrometheusTests(MonitoredFleet fleet) : IClassFixture<MonitoredFleet>
{
    private const string Range = "15m";
    private const string RateInterval = "1m";

    [Fact]
    public async Task Scraped_AsOpenMetrics_TheTracedRequestsLatencyCarriesItsTraceAsAnExemplar()
    {
        // Prometheus asks for OpenMetrics first; only that format carries exemplars, which Grafana links to the trace.
        var query = "/api/v1/query_exemplars?query=model_request_duration_seconds_bucket&start=0&end=" +
            DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        string found;
        do
        {
            found = await fleet.Prometheus.Client.GetStringAsync(query);
            if (found.Contains(fleet.TraceId, StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(200);
        }
        while (DateTimeOffset.UtcNow < deadline);

        var series = JsonDocument.Parse(found).RootElement.GetProperty("data").EnumerateArray()
            .Where(s => s.GetProperty("exemplars").EnumerateArray().Any(e => e.GetProperty("labels").GetProperty("trace_id").GetString() == fleet.TraceId))
            .Select(s => s.GetProperty("seriesLabels").GetProperty("model_name").GetString())
            .ToArray();
        Assert.Equal(["demo-small"], series.Distinct());
        var up = await fleet.Prometheus.QueryAsync("up{job=\"modelmeter\"}");
        Assert.All(up.EnumerateArray(), s => Assert.Equal("1", s.GetProperty("value")[1].GetString()));
    }

    [Fact]
    public async Task EveryBundleQuery_RunsWithoutErrorAndReturnsData()
    {
        var gpuPresent = NativeLibrary.TryLoad("libnvidia-ml.so.1", out var nvml);
        if (gpuPresent)
        {
            NativeLibrary.Free(nvml);
        }

        var empty = new List<string>();
        var queries = BundleQueries.All().ToArray();
        foreach (var query in queries)
        {
            var result = await fleet.Prometheus.QueryAsync(BundleQueries.Substitute(query.Expr, Range, RateInterval));

            // Alert conditions return series only while firing; GPU series exist only where NVML does.
            var mayBeEmpty = query.IsAlertCondition || (!gpuPresent && query.Expr.Contains("gpu_", StringComparison.Ordinal));
            if (result.GetArrayLength() == 0 && !mayBeEmpty)
            {
                empty.Add($"{query.Source}: {query.Expr}");
            }
        }

        Assert.True(empty.Count == 0, "No data from:\n" + string.Join("\n", empty));
        Assert.True(queries.Length >= 25, $"only {queries.Length} queries found");
    }

    [Fact]
    public async Task CumulativeCostPanel_EqualsTheServersOwnMetricsWithinOnePercent()
    {
        var values = await PanelValuesAsync("Cumulative cost by model");

        Assert.Equal(MonitoredFleet.Models.Order(), values.Keys.Order());
        foreach (var (model, prometheusUsd) in values)
        {
            var serversUsd = fleet.ServerCostUsd[model];
            Assert.True(serversUsd > 0);
            Assert.InRange(Math.Abs(prometheusUsd - serversUsd) / serversUsd, 0, 0.01);
        }
    }

    [Fact]
    public async Task CostSharePanel_SharesAddUpTo100Percent()
    {
        var shares = await PanelValuesAsync("Cost share by model");

        Assert.Equal(3, shares.Count);
        Assert.All(shares.Values, share => Assert.InRange(share, 0.0001, 99.9999));
        Assert.Equal(100, shares.Values.Sum(), 6);
        var expectedLargest = fleet.ServerCostUsd.MaxBy(kv => kv.Value).Key;
        Assert.Equal(expectedLargest, shares.MaxBy(kv => kv.Value).Key);
    }

    [Fact]
    public async Task IdleSharePanel_IsBetweenZeroAndHundred()
    {
        var idle = await PanelValuesAsync("Idle share of the bill");

        Assert.InRange(idle.Single().Value, 0, 100);
    }

    [Fact]
    public async Task CarbonPanel_EqualsTheServersOwnMetricsWithinOnePercent_IdleEnergyShareIsAShare()
    {
        var carbon = await PanelValuesAsync("Carbon by model");

        Assert.Equal(MonitoredFleet.Models.Order(), carbon.Keys.Order());
        foreach (var (model, grams) in carbon)
        {
            Assert.True(fleet.ServerCo2eGrams[model] > 0);
            Assert.InRange(Math.Abs(grams - fleet.ServerCo2eGrams[model]) / fleet.ServerCo2eGrams[model], 0, 0.01);
        }

        Assert.InRange((await PanelValuesAsync("Idle share of the energy")).Single().Value, 0, 100);
    }

    [Fact]
    public async Task CostPer1KTokensPanel_ShowsReferencePriceNextToMeasuredCost()
    {
        var panel = Panel("Cost per 1K output tokens");
        var reference = await fleet.Prometheus.QueryAsync(BundleQueries.Substitute(panel.GetProperty("targets")[1].GetProperty("expr").GetString()!, Range, RateInterval));

        Assert.Equal(3, reference.GetArrayLength());
        Assert.All(reference.EnumerateArray(), r => Assert.Equal(0.0006, double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture), 12));
    }

    [Fact]
    public async Task BudgetsPanel_ShowsTheReplicaNearestItsLimit_NotTheSumOfReplicas()
    {
        // Per-replica budgets here: each replica enforces the limit on its own spending (with Redis each reports the fleet's figure).
        var spent = new List<double>();
        foreach (var server in fleet.Servers)
        {
            spent.Add((await server.ScrapeAsync())["budget_spent_dollars{budget=\"daily\"}"]);
        }

        Assert.All(spent, s => Assert.True(s > 0, "every replica served traffic"));
        var shown = (await PanelValuesAsync("Budgets"))[""];
        Assert.Equal(spent.Max(), shown, 9);
    }

    private static JsonElement Panel(string titleStart) =>
        BundleQueries.Dashboard().GetProperty("panels").EnumerateArray().Single(p => p.GetProperty("title").GetString()!.StartsWith(titleStart, StringComparison.Ordinal));

    private async Task<Dictionary<string, double>> PanelValuesAsync(string titleStart)
    {
        var expr = Panel(titleStart).GetProperty("targets")[0].GetProperty("expr").GetString()!;
        var result = await fleet.Prometheus.QueryAsync(BundleQueries.Substitute(expr, Range, RateInterval));
        return result.EnumerateArray().ToDictionary(
            r => r.GetProperty("metric").TryGetProperty("model_name", out var model) ? model.GetString()! : "",
            r => double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture));
    }
}
