using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Tests.Library;

/// <summary>Library mode in an app that only adds ModelMeter: the scope and the endpoint filter meter the app's own endpoints.</summary>
public sealed class ScopeTests : IAsyncLifetime
{
    private LibraryHost _host = null!;

    public async Task InitializeAsync() => _host = await LibraryHost.StartAsync(map: app =>
    {
        app.MapPost("/echo", (HttpContext http) =>
        {
            http.Features.Get<MeteredScope>()!.AddOutputTokens(3);
            return Results.Ok("echo");
        }).MeteredBy("ext");
        app.MapPost("/broken", () => Results.Problem(statusCode: 500)).MeteredBy("ext");
        app.MapPost("/bad", () => Results.BadRequest()).MeteredBy("ext");
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private ModelMeterScope Scope => _host.Services.GetRequiredService<ModelMeterScope>();

    [Fact]
    public async Task Complete_WritesOneOkRowWithItsTokens_AndChargesTheDeviceTime()
    {
        await using var scope = await Scope.BeginAsync("ext", Caller("acme"), maxOutputTokens: 10);
        scope.InputTokens = 5;
        scope.AddOutputTokens(2);
        scope.AddOutputTokens(3);
        _host.Time.Advance(TimeSpan.FromSeconds(1.5));

        var charge = await scope.CompleteAsync();

        Assert.Equal(5, scope.OutputTokens);
        Assert.Equal(1.5, charge.CostUsd, 9); // its device time at 1 USD a second
        Assert.Equal(60 * 1.5, charge.EnergyJoules, 9); // and its energy: a CPU's estimated 60 W while busy, 1.5 s
        Assert.Equal(["ok"], _host.RowStatuses(scope.RequestId));
        await Assert.ThrowsAsync<InvalidOperationException>(() => scope.CompleteAsync()); // one final row
    }

    [Fact]
    public async Task APaidApiMeteredByTheApp_CachedTokensAtTheCachePrice_DetailsKept()
    {
        await using var host = await LibraryHost.StartAsync(new()
        {
            ["ModelMeter:Models:paid:Backend"] = "External",
            ["ModelMeter:Models:paid:Price:InputPerMillion"] = "3",
            ["ModelMeter:Models:paid:Price:CachedInputPerMillion"] = "0.3",
            ["ModelMeter:Models:paid:Price:OutputPerMillion"] = "12",
        });
        await using var scope = await host.Services.GetRequiredService<ModelMeterScope>().BeginAsync("paid", Caller("acme"), maxOutputTokens: 400);
        scope.InputTokens = 1200;
        scope.AddOutputTokens(300);
        scope.TokenDetails = new Pricing.TokenDetails(CachedInput: 1000, CacheWrite: 0, Reasoning: 12);

        var charge = await scope.CompleteAsync();

        Assert.Equal(0.0045, charge.CostUsd, 12); // 200 × 3 + 1,000 × 0.3 + 300 × 12 per million
        Assert.Throws<ArgumentOutOfRangeException>(() => scope.TokenDetails = new Pricing.TokenDetails(-1, 0, 0));
    }

    [Fact]
    public async Task Fail_WritesTheReason()
    {
        await using var scope = await Scope.BeginAsync("ext", Caller("acme"));

        await scope.FailAsync(ErrorReason.UpstreamBroken);

        Assert.Equal([ErrorReason.UpstreamBroken], _host.RowStatuses(scope.RequestId));
    }

    [Theory]
    [InlineData("no-such-model", "custom", GenerationErrorKind.UnknownModel, 404)]
    [InlineData("ext", "not-a-configured-endpoint", GenerationErrorKind.InvalidField, 400)]
    public async Task BeginAsync_UnknownModelOrEndpoint_RefusedWithItsStatus(string model, string endpoint, GenerationErrorKind kind, int status)
    {
        var refused = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => Scope.BeginAsync(model, Caller("acme"), endpoint));

        Assert.Equal((kind, status), (refused.Error.Kind, refused.StatusCode));
        Assert.Empty(_host.AllStatuses());
    }

    [Fact]
    public async Task BeginAsync_UserHeaderThatIsNotAName_Refused()
    {
        var http = Caller("acme");
        http.Request.Headers["X-User"] = new string('u', 500);

        var refused = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => Scope.BeginAsync("ext", http));

        Assert.Equal((GenerationErrorKind.InvalidField, "X-User"), (refused.Error.Kind, refused.Error.Field));
    }

    [Fact]
    public async Task BeginAsync_UserHeaderGivenTwice_RefusedNamingIt()
    {
        var http = Caller("acme");
        http.Request.Headers["X-User"] = new Microsoft.Extensions.Primitives.StringValues(["ann", "bob"]);

        var refused = await Assert.ThrowsAsync<ModelMeterRefusedException>(() => Scope.BeginAsync("ext", http));

        Assert.Equal((GenerationErrorKind.InvalidField, "X-User"), (refused.Error.Kind, refused.Error.Field));
        Assert.Empty(_host.AllStatuses());
    }

    [Theory]
    [InlineData("/echo", HttpStatusCode.OK, "ok")]
    [InlineData("/bad", HttpStatusCode.BadRequest, ErrorReason.BadRequest)]
    [InlineData("/broken", HttpStatusCode.InternalServerError, ErrorReason.Internal)]
    public async Task MeteredBy_TheEndpointsAnswer_DecidesTheRow(string path, HttpStatusCode status, string row)
    {
        using var client = _host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-Tenant", "acme");

        using var response = await client.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal([row], _host.AllStatuses());
    }

    [Fact]
    public async Task MeteredBy_AnInvalidTenantHeader_IsRefusedAsAProblem_BeforeTheEndpointRuns()
    {
        using var client = _host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/echo");
        request.Headers.Add("X-Tenant", "not a tenant name!");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_host.AllStatuses());
    }

    private static DefaultHttpContext Caller(string tenant)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["X-Tenant"] = tenant;
        return http;
    }
}
