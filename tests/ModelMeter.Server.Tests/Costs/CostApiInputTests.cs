using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Costs;

/// <summary>The cost API's parameters: out-of-range input is a 400 naming the parameter, never a 500; groups are bounded by <c>limit</c>.</summary>
[Collection(DemoServerCollection.Name)]
public sealed class CostApiInputTests(DemoServer demo)
{
    private readonly RunningServer _server = demo.Server;

    [Theory]
    [InlineData("/api/costs/timeseries?step=1e300d", "step")]
    [InlineData("/api/costs/timeseries?step=30s", "step")]
    [InlineData("/api/costs/timeseries?step=-1h", "step")]
    [InlineData("/api/costs/summary?from=0001-01-01T00:00:00Z", "from")]
    [InlineData("/api/costs/summary?to=0001-01-02T00:00:00Z", "to")]
    [InlineData("/api/costs/summary?to=9999-12-31T23:59:59Z", "to")]
    [InlineData("/api/costs/timeseries?from=1969-12-31T00:00:00Z&step=1d", "from")]
    [InlineData("/api/costs/summary?limit=0", "limit")]
    [InlineData("/api/costs/summary?limit=lots", "limit")]
    [InlineData("/api/costs/timeseries?limit=100000", "limit")]
    [InlineData("/api/costs/summary?by=planet", "by")]
    [InlineData("/api/costs/summary?by=model&by=tenant", "by")] // read as "model,tenant", which Enum.TryParse takes for model|tenant = tenant
    [InlineData("/api/costs/timeseries?by=endpoint,model", "by")]
    [InlineData("/api/costs/summary?by=2", "by")]
    [InlineData("/api/costs/summary?idle=separate,even", "idle")]
    public async Task OutOfRange_Answers400NamingTheParameter(string url, string field)
    {
        using var response = await _server.Client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("/api/costs/summary?since=2026-11-01T00:00:00Z", "since", "(the window's start is from)")] // the report command's word: was the last day, silently
    [InlineData("/api/costs/timeseries?step=1h&until=2026-11-01T00:00:00Z", "until", "(the window's end is to)")]
    [InlineData("/api/costs/stats?model=demo-small", "model", "it takes from, to")]
    [InlineData("/api/costs/activity?by=tenant", "by", "it takes from, to, step, model")]
    [InlineData("/api/costs/forecast?from=2026-11-01T00:00:00Z", "from", "it takes no parameters")]
    [InlineData("/api/costs/summary?BY=tenant&models=demo-small", "models", "it takes from, to, by, idle, limit, model, tenant")] // names in any case, as the values are read
    public async Task UnknownParameter_Answers400NamingItAndWhatTheRouteTakes(string url, string field, string said)
    {
        using var response = await _server.Client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(said, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ByUser_OverTheLimit_KeepsTheCostliestAndSumsTheRestAsOther()
    {
        foreach (var user in new[] { "limit-a", "limit-b", "limit-c" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "who pays", max_tokens = 2 }) };
            request.Headers.Add("X-User", user);
            (await _server.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        var all = await RowsAsync("/api/costs/summary?by=user&from=2000-01-01T00:00:00Z&limit=10000");
        var limited = await RowsAsync("/api/costs/summary?by=user&from=2000-01-01T00:00:00Z&limit=2");

        Assert.True(all.Count(r => !r.Key.StartsWith("(idle)", StringComparison.Ordinal)) >= 3);
        var groups = limited.Where(r => !r.Key.StartsWith("(idle)", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal("(other)", groups[1].Key);
        Assert.Equal(all.Where(r => !r.Key.StartsWith("(idle)", StringComparison.Ordinal)).Sum(r => r.Requests), groups.Sum(r => r.Requests));
        Assert.Equal(all.Where(r => !r.Key.StartsWith("(idle)", StringComparison.Ordinal)).Sum(r => r.CostUsd), groups.Sum(r => r.CostUsd), 12);
    }

    [Fact]
    public async Task Timeseries_OverTheLimit_SumsTheRestPerBucket()
    {
        foreach (var model in new[] { "demo-small", "demo-medium" })
        {
            (await _server.GenerateAsync(model, new { prompt = "chart me", max_tokens = 2 })).EnsureSuccessStatusCode();
        }

        var window = $"from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}";
        var all = Requests(await PointsAsync($"/api/costs/timeseries?by=model&step=1m&{window}&limit=10000"));
        var limited = Requests(await PointsAsync($"/api/costs/timeseries?by=model&step=1m&{window}&limit=1"));

        Assert.True(all.Select(p => p.Key).Distinct().Count() >= 2);
        Assert.All(limited, p => Assert.Equal("(other)", p.Key));
        Assert.Equal(all.Select(p => p.Start).Distinct().Count(), limited.Count);
        Assert.Equal(all.Sum(p => p.CostUsd), limited.Sum(p => p.CostUsd), 12);
    }

    [Fact]
    public async Task Timeseries_PointsOfEachModel_AddUpToTheSummaryOfTheSameWindow()
    {
        foreach (var model in new[] { "demo-small", "demo-medium", "demo-small" })
        {
            (await _server.GenerateAsync(model, new { prompt = "series", max_tokens = 3 })).EnsureSuccessStatusCode();
        }

        var window = $"from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(-30).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}";
        var points = Requests(await PointsAsync($"/api/costs/timeseries?by=model&step=5m&{window}"));
        var rows = await RowsAsync($"/api/costs/summary?by=model&{window}");

        foreach (var model in new[] { "demo-small", "demo-medium" })
        {
            var fromPoints = points.Where(p => p.Key == model).Sum(p => p.CostUsd);
            Assert.True(fromPoints > 0, model);
            Assert.Equal(rows.Single(r => r.Key == model).CostUsd, fromPoints, 12);
        }

        Assert.All(points, p => Assert.Equal(0, (p.Start.ToUnixTimeMilliseconds() - points.Min(q => q.Start).ToUnixTimeMilliseconds()) % 300_000));
    }

    private static List<(string Key, DateTimeOffset Start, double CostUsd)> Requests(List<(string Key, DateTimeOffset Start, double CostUsd)> points) =>
        points.Where(p => !p.Key.StartsWith("(idle)", StringComparison.Ordinal)).ToList();

    private async Task<List<(string Key, long Requests, double CostUsd)>> RowsAsync(string url) =>
        (await _server.Client.GetFromJsonAsync<JsonElement>(url)).GetProperty("rows").EnumerateArray()
            .Select(r => (r.GetProperty("key").GetString()!, r.GetProperty("requests").GetInt64(), r.GetProperty("cost_usd").GetDouble())).ToList();

    private async Task<List<(string Key, DateTimeOffset Start, double CostUsd)>> PointsAsync(string url) =>
        (await _server.Client.GetFromJsonAsync<JsonElement>(url)).GetProperty("points").EnumerateArray()
            .Select(p => (p.GetProperty("key").GetString()!, p.GetProperty("start").GetDateTimeOffset(), p.GetProperty("cost_usd").GetDouble())).ToList();
}
