using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Tenancy;

public sealed class TenancyTests
{
    private const string AcmeKey = "sk-acme-0123456789";
    private const string AdminKey = "admin-secret-key";
    private const string MetricsKey = "prometheus-scrape-key";

    [Fact]
    public async Task AuthOn_TenantKey_BillsTheTenantAndLabelsItsCost()
    {
        await using var server = await StartWithAuthAsync();

        using var response = await SendAsync(server, AcmeKey, new { prompt = "hello", max_tokens = 4, user = "alice" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var row = LedgerFile.Rows(server.LedgerPath, "SELECT tenant, user FROM requests", r => (r.GetString(0), r.GetString(1))).Single();
        Assert.Equal(("acme", "alice"), row);
        var samples = await server.ScrapeAsync(MetricsKey);
        Assert.True(samples["model_tenant_cost_dollars_total{model_name=\"demo-small\",tenant=\"acme\"}"] > 0);
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData(null)]
    public async Task AuthOn_UnknownOrMissingKey_Returns401AndRecordsNothing(string? key)
    {
        await using var server = await StartWithAuthAsync();

        using var response = await SendAsync(server, key, new { prompt = "hello", max_tokens = 4 });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Empty(LedgerFile.RequestIds(server.LedgerPath));
    }

    [Fact]
    public async Task AuthOn_ModelList_NeedsAKeyAndAnswersOpenAisErrorShape()
    {
        await using var server = await StartWithAuthAsync();

        using var anonymous = await server.Client.GetAsync("/v1/models");
        using var withKey = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", AcmeKey) } };
        using var tenant = await server.Client.SendAsync(withKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var error = (await anonymous.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(("authentication_error", "invalid_api_key"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        Assert.Equal(HttpStatusCode.OK, tenant.StatusCode);
        using var one = await server.Client.GetAsync("/v1/models/demo-small"); // retrieving one model asks the same
        Assert.Equal(HttpStatusCode.Unauthorized, one.StatusCode);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData(AcmeKey, HttpStatusCode.Unauthorized)]
    [InlineData(MetricsKey, HttpStatusCode.OK)]
    [InlineData(AdminKey, HttpStatusCode.OK)]
    public async Task AuthOn_Metrics_NeedsTheMetricsOrAdminKey(string? key, HttpStatusCode status)
    {
        await using var server = await StartWithAuthAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        if (status == HttpStatusCode.OK)
        {
            Assert.Contains("model_tenant_cost_dollars_total{model_name=\"demo-small\",tenant=\"acme\"}", await response.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public async Task Start_AuthOnWithoutAnAdminKey_TheLogSaysTheCostApiIsLocked(bool adminKey, bool warned)
    {
        var logs = new CapturedLogs();
        var settings = RunningServer.DemoSettings(models: "demo-small");
        settings["ModelMeter:Auth:Enabled"] = "true";
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = TenantResolver.Sha256Hex(AcmeKey);
        if (adminKey)
        {
            settings["ModelMeter:Auth:AdminKeySha256"] = TenantResolver.Sha256Hex(AdminKey);
        }

        await using var server = await RunningServer.StartAsync(settings, waitUntilReady: false, services: s => s.AddSingleton<ILoggerProvider>(logs));

        Assert.Equal(warned, logs.Lines.Any(l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("Auth:AdminKeySha256 is not set", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Start_SameKeyHashForATenantAndTheAdmin_FailsNamingBoth()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Auth:Enabled"] = "true";
        settings["ModelMeter:Auth:AdminKeySha256"] = TenantResolver.Sha256Hex(AcmeKey);
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = TenantResolver.Sha256Hex(AcmeKey).ToUpperInvariant();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RunningServer.StartAsync(settings));

        var failure = Assert.Single(error.Failures);
        Assert.Contains("Tenants:acme:ApiKeySha256", failure);
        Assert.Contains("Auth:AdminKeySha256", failure);
    }

    [Fact]
    public async Task AuthOn_CostApi_NeedsTheAdminKey()
    {
        await using var server = await StartWithAuthAsync();

        using var anonymous = await server.Client.GetAsync("/api/costs/summary");
        using var tenant = await GetAsync(server, "/api/costs/summary", AcmeKey);
        using var admin = await GetAsync(server, "/api/costs/summary", AdminKey);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tenant.StatusCode);
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
    }

    [Fact]
    public async Task AuthOff_XTenantHeader_GoesToTheLedgerButNeverBecomesALabelUnlessNamed()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = TenantResolver.Sha256Hex(AcmeKey);
        await using var server = await RunningServer.StartAsync(settings);

        foreach (var tenant in new[] { "acme", "walk-in-42" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "hi", max_tokens = 3 }) };
            request.Headers.Add("X-Tenant", tenant);
            (await server.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        using var bad = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "hi", max_tokens = 3 }) };
        bad.Headers.Add("X-Tenant", "no spaces allowed");
        var badResponse = await server.Client.SendAsync(bad);

        Assert.Equal(["acme", "walk-in-42"], LedgerFile.Rows(server.LedgerPath, "SELECT tenant FROM requests", r => r.GetString(0)).Order());
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("tenant=\"acme\"", metrics);
        Assert.DoesNotContain("walk-in-42", metrics);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        Assert.Equal("X-Tenant", (await badResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("X-User")]
    [InlineData("X-Tenant")]
    public async Task AuthOff_WhoPaysHeaderGivenTwice_400NamingItAndNothingRecorded(string header)
    {
        // Two header lines, as a raw client or a proxy that adds its own may send them: ASP.NET Core would join them as "ann,bob".
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());

        var answer = await SendRawAsync(server, $"{header}: ann\r\n{header}: bob\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", answer);
        var problem = JsonDocument.Parse(answer[answer.IndexOf('{')..(answer.LastIndexOf('}') + 1)]).RootElement; // the body, chunked or not
        Assert.Equal(header, problem.GetProperty("field").GetString());
        Assert.Contains("more than once", problem.GetProperty("detail").GetString());
        Assert.Empty(LedgerFile.Rows(server.LedgerPath, "SELECT tenant FROM requests", r => r.GetString(0)));
    }

    [Fact]
    public async Task AuthOn_XTenantGivenTwice_IsNotReadSoNotRefused()
    {
        await using var server = await StartWithAuthAsync();

        var answer = await SendRawAsync(server, $"Authorization: Bearer {AcmeKey}\r\nX-Tenant: ann\r\nX-Tenant: bob\r\n");

        Assert.StartsWith("HTTP/1.1 200 ", answer);
        Assert.Equal(["acme"], LedgerFile.Rows(server.LedgerPath, "SELECT tenant FROM requests", r => r.GetString(0)));
    }

    /// <summary>A generation request written by hand, with <paramref name="headers"/> as given (lines ending in CRLF); the whole answer.</summary>
    private static async Task<string> SendRawAsync(RunningServer server, string headers)
    {
        var address = server.Client.BaseAddress!;
        const string body = "{\"prompt\": \"hi\", \"max_tokens\": 2}";
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /v1/generate/demo-small HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\n{headers}" +
            $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new StreamReader(stream).ReadToEndAsync(deadline.Token);
    }

    private static Task<RunningServer> StartWithAuthAsync()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Auth:Enabled"] = "true";
        settings["ModelMeter:Auth:AdminKeySha256"] = TenantResolver.Sha256Hex(AdminKey);
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = TenantResolver.Sha256Hex(AcmeKey);
        settings["ModelMeter:Auth:MetricsKeySha256"] = TenantResolver.Sha256Hex(MetricsKey);
        return RunningServer.StartAsync(settings);
    }

    private static Task<HttpResponseMessage> SendAsync(RunningServer server, string? key, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        request.Headers.Add("X-Tenant", "someone-else");
        return server.Client.SendAsync(request);
    }

    private static Task<HttpResponseMessage> GetAsync(RunningServer server, string url, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return server.Client.SendAsync(request);
    }
}
