using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Costs;

/// <summary><c>/api/costs/activity</c>: requests per step and model from the ledger, served latency, and errors by reason with the refusals this server counted.</summary>
public sealed class ActivityTests
{
    [Fact]
    public async Task Activity_CountsWhatTheLedgerHolds_AndTheRefusalsItHasNoRowFor()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(3600, "demo-small", "demo-medium"));
        await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            using var response = await server.GenerateAsync(i % 3 == 0 ? "demo-medium" : "demo-small", new { prompt = $"step {i}", max_tokens = 3 });
            response.EnsureSuccessStatusCode();
        }));
        for (var i = 0; i < 3; i++)
        {
            using var refused = await server.GenerateAsync("demo-small", new { prompt = "", max_tokens = 3 });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        var activity = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/activity?step=1m");
        var rows = LedgerFile.Rows(server.LedgerPath, "SELECT model, latency_seconds FROM requests WHERE status = 'ok'", r => (Model: r.GetString(0), Latency: r.GetDouble(1)));

        var requests = activity.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(4, requests.Where(r => r.GetProperty("model").GetString() == "demo-small").Sum(r => r.GetProperty("requests").GetInt64()));
        Assert.Equal(2, requests.Where(r => r.GetProperty("model").GetString() == "demo-medium").Sum(r => r.GetProperty("requests").GetInt64()));
        var latency = activity.GetProperty("latency").EnumerateArray().ToList();
        Assert.Equal(6, latency.Sum(l => l.GetProperty("served").GetInt64()));
        if (latency.Count == 1)
        {
            var sorted = rows.Select(r => r.Latency).Order().ToArray();
            Assert.Equal(sorted[3], latency[0].GetProperty("p50_seconds").GetDouble(), 12); // rank floor(0.5 × 6)
            Assert.Equal(sorted[5], latency[0].GetProperty("p95_seconds").GetDouble(), 12);
        }

        var refusals = activity.GetProperty("errors").EnumerateArray().Where(e => e.GetProperty("refused").GetBoolean()).ToList();
        Assert.Equal(3, refusals.Where(e => e.GetProperty("reason").GetString() == "bad_request" && e.GetProperty("model").GetString() == "demo-small").Sum(e => e.GetProperty("requests").GetInt64()));

        var onlyMedium = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/activity?step=1m&model=demo-medium");
        Assert.All(onlyMedium.GetProperty("requests").EnumerateArray(), r => Assert.Equal("demo-medium", r.GetProperty("model").GetString()));
        Assert.Empty(onlyMedium.GetProperty("errors").EnumerateArray());

        using var badStep = await server.Client.GetAsync("/api/costs/activity?step=5s");
        Assert.Equal(HttpStatusCode.BadRequest, badStep.StatusCode);
        Assert.Equal("application/problem+json", badStep.Content.Headers.ContentType?.MediaType);
    }
}
