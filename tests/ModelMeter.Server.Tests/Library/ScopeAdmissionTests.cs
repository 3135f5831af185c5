using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using ModelMeter.AspNetCore;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Library;

/// <summary>Library mode admits through the same steps as the routes: rate limits, order, errors, Retry-After; a refusal holds nothing.</summary>
public sealed class ScopeAdmissionTests
{
    [Fact]
    public async Task BeginAsync_TenantOverItsRequestsPerMinute_RefusedAsTheRoutesAreWithTheirRetryAfter()
    {
        var settings = Settings();
        settings["ModelMeter:Tenants:acme:RequestsPerMinute"] = "2";
        await using var server = await RunningServer.StartAsync(settings);
        var scope = server.Services.GetRequiredService<ModelMeterScope>();

        for (var i = 0; i < 2; i++)
        {
            await using var metered = await scope.BeginAsync("ext", Caller("acme"));
            await metered.CompleteAsync();
        }

        var refused = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => scope.BeginAsync("ext", Caller("acme")));
        using var route = await GenerateAsAsync(server, "acme"); // the route, for the same tenant, right after

        Assert.Equal((GenerationErrorKind.RateLimited, 429), (refused.Error.Kind, refused.StatusCode));
        Assert.InRange(refused.Error.RetryAfter!.Value.TotalSeconds, 1, 30);
        Assert.Equal(HttpStatusCode.TooManyRequests, route.StatusCode);
        Assert.StartsWith("Tenant 'acme' is over its requests per minute; retry after", refused.Error.Message);
        Assert.Contains("Tenant 'acme' is over its requests per minute; retry after", await route.Content.ReadAsStringAsync());
        Assert.Equal(1, (await server.ScrapeAsync())["model_request_errors_total{model_name=\"ext\",endpoint=\"custom\",reason=\"rate_limited\"}"]);
        Assert.Equal(2, LedgerFile.RequestIds(server.LedgerPath).Count);
    }

    [Fact]
    public async Task BeginAsync_MaxConcurrentRequests_HeldUntilTheScopeEndsAndReleasedOnce()
    {
        var settings = Settings();
        settings["ModelMeter:Tenants:acme:MaxConcurrentRequests"] = "1";
        await using var server = await RunningServer.StartAsync(settings);
        var scope = server.Services.GetRequiredService<ModelMeterScope>();

        var first = await scope.BeginAsync("ext", Caller("acme"));
        var second = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => scope.BeginAsync("ext", Caller("acme")));
        await first.FailAsync();
        await first.DisposeAsync(); // ended already: releases nothing twice
        await using var third = await scope.BeginAsync("ext", Caller("acme"));

        Assert.Equal((GenerationErrorKind.RateLimited, "Tenant 'acme' is over its concurrent requests; retry after 1 s."), (second.Error.Kind, second.Error.Message));
        Assert.Equal(TimeSpan.FromSeconds(1), second.Error.RetryAfter);
        await Assert.ThrowsAsync<ModelMeterRefusedException>(() => scope.BeginAsync("ext", Caller("acme"))); // the third holds it now
    }

    [Fact]
    public async Task BeginAsync_UnknownEndpoint_RefusedBeforeAnythingIsTaken()
    {
        var settings = Settings();
        settings["ModelMeter:Tenants:acme:MaxConcurrentRequests"] = "1";
        await using var server = await RunningServer.StartAsync(settings);
        var scope = server.Services.GetRequiredService<ModelMeterScope>();

        var refused = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => scope.BeginAsync("ext", Caller("acme"), endpoint: "not-configured"));
        await using var next = await scope.BeginAsync("ext", Caller("acme")); // the tenant's one slot was not taken by the refusal

        Assert.Equal((GenerationErrorKind.InvalidField, "endpoint"), (refused.Error.Kind, refused.Error.Field));
        Assert.DoesNotContain("not-configured", string.Join('\n', (await server.ScrapeAsync()).Keys)); // no new series
    }

    private static Dictionary<string, string?> Settings()
    {
        var settings = RunningServer.DemoSettings(models: "demo-small");
        settings["ModelMeter:Models:ext:Backend"] = "External";
        settings["ModelMeter:Models:ext:Device"] = "cpu";
        return settings;
    }

    private static DefaultHttpContext Caller(string tenant)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["X-Tenant"] = tenant;
        return http;
    }

    private static async Task<HttpResponseMessage> GenerateAsAsync(RunningServer server, string tenant)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "who pays", max_tokens = 2 }) };
        request.Headers.Add("X-Tenant", tenant);
        return await server.Client.SendAsync(request);
    }
}
