using System.Net;
using System.Net.Http.Json;
using ModelMeter.Metering;

namespace ModelMeter.Server.Tests.Tenancy;

/// <summary>Per-tenant limits from configuration: 429 with Retry-After, counted as rate_limited, other tenants untouched.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task RequestsPerMinute_OverTheLimit_429WithRetryAfterOnlyForThatTenant()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Tenants:acme:RequestsPerMinute"] = "2"; // a token every 30 s: at most one more during the burst below
        await using var server = await RunningServer.StartAsync(settings);

        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await SendAsync(server, "acme"));
        }

        using var other = await SendAsync(server, "globex");

        var refused = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.InRange(statuses.Count(r => r.StatusCode == HttpStatusCode.OK), 2, 3);
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.InRange(r.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 30));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        var samples = await server.ScrapeAsync();
        Assert.Equal(refused.Count, samples[$"model_request_errors_total{{model_name=\"demo-small\",endpoint=\"generate\",reason=\"{ErrorReason.RateLimited}\"}}"]);
        statuses.ForEach(r => r.Dispose());
    }

    [Fact]
    public async Task ConcurrentRequests_OverTheLimit_429WhileTheFirstRuns()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Limits:TenantMaxConcurrentRequests"] = "1";
        settings["ModelMeter:Models:demo-large:MaxConcurrency"] = "4";
        await using var server = await RunningServer.StartAsync(settings);

        using var cancel = new CancellationTokenSource();
        var first = server.Client.PostAsJsonAsync("/v1/generate/demo-large", new { prompt = "hold the slot", max_tokens = 512 }, cancel.Token);
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["model_inflight_requests{model_name=\"demo-large\"}"] == 1, "the first request to hold the device");

        using var second = await server.GenerateAsync("demo-large", new { prompt = "me too", max_tokens = 2 });
        using var otherTenant = await SendAsync(server, "globex", "demo-large");

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Contains("concurrent requests", await second.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, otherTenant.StatusCode);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    private static Task<HttpResponseMessage> SendAsync(RunningServer server, string tenant, string model = "demo-small")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/generate/{model}") { Content = JsonContent.Create(new { prompt = "hi", max_tokens = 1 }) };
        request.Headers.Add("X-Tenant", tenant);
        return server.Client.SendAsync(request);
    }
}
