using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Metering;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>An upstream's figures, sizes and error text are input: checked like a client's body before anything is charged or shown.</summary>
public sealed class HostileUpstreamTests : IAsyncLifetime
{
    private const string Secret = "sk-test-0123456789-secret";
    private const string KeyVariable = "MODELMETER_TEST_HOSTILE_KEY";
    private readonly CapturedLogs _logs = new();
    private FakeUpstream _upstream = null!;
    private RunningServer _front = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(KeyVariable, Secret);
        _upstream = await FakeUpstream.StartAsync();
        var settings = new GatewaySettings()
            .OnDevice("up-negusage", _upstream.BaseUrl("negusage"))
            .Priced("up-hugeusage", _upstream.BaseUrl("hugeusage"), 1000, 2000)
            .OnDevice("up-zerofirst", _upstream.BaseUrl("zerofirst"))
            .OnDevice("up-hugeline", _upstream.BaseUrl("hugeline"), extra: ("TimeoutSeconds", "60"))
            .OnDevice("up-hugeerror", _upstream.BaseUrl("hugeerror"), extra: ("Retries", "0"))
            .OnDevice("up-gzip", _upstream.BaseUrl("gzip"))
            .OnDevice("up-redirect", _upstream.BaseUrl("redirect"), extra: ("Retries", "0"))
            .OnDevice("up-auth", _upstream.BaseUrl("auth"), extra: [("ApiKeyEnv", KeyVariable), ("Retries", "0")])
            .OnDevice("up-badtext", _upstream.BaseUrl("badtext"))
            .OnDevice("up-nullchoice", _upstream.BaseUrl("nullchoice"))
            .OnDevice("up-dupusage", _upstream.BaseUrl("dupusage"), extra: ("Retries", "0"))
            .OnDevice("up-badtexterror", _upstream.BaseUrl("badtexterror"), extra: ("Retries", "0"));
        _front = await RunningServer.StartAsync(settings.Settings, services: s => s.AddSingleton<ILoggerProvider>(_logs));
    }

    public async Task DisposeAsync()
    {
        await _front.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task NegativeUsage_CountedHere_MarkedEstimated_AndTheBillAddsUp()
    {
        using var response = await ChatAsync("up-negusage", maxTokens: 8);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        var row = LastRow("up-negusage");
        Assert.Equal(("ok", true), (row.Status, row.Estimated));
        Assert.InRange(row.OutputTokens, 1, 8);
        Assert.True(row.InputTokens > 0);
        Assert.Equal((row.InputTokens, row.OutputTokens), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32()));
        await AssertBillAddsUpAsync();
    }

    [Fact]
    public async Task HugeUsage_ClampedToTheClientsLimit_CostFromTheClampedCounts()
    {
        using var response = await ChatAsync("up-hugeusage", maxTokens: 5);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        var row = LastRow("up-hugeusage");
        Assert.Equal((5, true), (row.OutputTokens, row.Estimated));
        // At most one token per byte of the body sent, a template's allowance per message and 4,096 tokens an upstream may
        // add of its own (its system prompt, tool instructions): never 2^31.
        Assert.InRange(row.InputTokens, 4096, 4096 + 200);
        Assert.Equal((row.InputTokens * 1000 + 5 * 2000) / 1e6, row.CostUsd, 12);
        Assert.Equal(row.InputTokens + 5L, usage.GetProperty("total_tokens").GetInt64());
        var cost = double.Parse(response.Headers.GetValues("X-ModelMeter-Cost-Usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(row.CostUsd, cost, 9);
    }

    [Fact]
    public async Task StreamReportsZeroUsageFirst_ThenFiftyChunks_ChargedForWhatWasDelivered()
    {
        using var response = await ChatAsync("up-zerofirst", maxTokens: 64, stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(" w49", body);
        var row = LastRow("up-zerofirst");
        Assert.Equal((50, true), (row.OutputTokens, row.Estimated));
        await AssertBillAddsUpAsync();
    }

    [Fact]
    public async Task EndlessLine_BrokenOffAtTheLineLimit_NotAtTheTimeout()
    {
        using var response = await ChatAsync("up-hugeline", maxTokens: 8, stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Contains("upstream_broken", body);
        Assert.Contains("1048576 bytes", body); // broken off by the line limit, not by the 60 s timeout (which would say so)
        Assert.Equal("upstream_broken", LastRow("up-hugeline").Status);
    }

    [Fact]
    public async Task HugeErrorBody_ReadOnlyUpToItsLimit_MessageCutShort()
    {
        using var response = await ChatAsync("up-hugeerror", maxTokens: 8);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
        Assert.InRange(message.Length, 1, 600);
        Assert.StartsWith("The upstream answered 400: eee", message);
    }

    [Fact]
    public async Task UnaskedGzip_NotInflated_Answers502()
    {
        using var response = await ChatAsync("up-gzip", maxTokens: 8);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_broken", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Redirect_NotFollowed_TheBodyGoesNowhereElse()
    {
        using var response = await ChatAsync("up-redirect", maxTokens: 8);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("redirect", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(0, _upstream.Hits("redirected"));
    }

    [Fact]
    public async Task Upstream401EchoingTheKey_Answers502UpstreamAuth_KeyNeitherShownNorLogged()
    {
        using var response = await ChatAsync("up-auth", maxTokens: 8);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_auth", JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain(Secret, text);
        Assert.Equal(Secret, _upstream.LastAuthorization("auth")?.Replace("Bearer ", "", StringComparison.Ordinal)); // the key was sent, and echoed
        await Eventually.TrueAsync(() => _logs.Lines.Any(l => l.Contains("UpstreamAuth", StringComparison.Ordinal)), "the failure to be logged");
        Assert.DoesNotContain(_logs.Lines, l => l.Contains(Secret, StringComparison.Ordinal));
        Assert.Contains(_logs.Lines, l => l.Contains("Invalid key: Bearer [redacted]", StringComparison.Ordinal));
        Assert.Equal(1, (await _front.ScrapeAsync())["model_request_errors_total{model_name=\"up-auth\",endpoint=\"chat_completions\",reason=\"upstream_auth\"}"]);
    }

    [Theory]
    [InlineData("up-badtext", "not valid Unicode at $.choices[0].message.content")]
    [InlineData("up-dupusage", "gives $.usage twice")] // billed from one, while the client's parser might read the other
    public async Task AnswerThatCannotBeRelayed_Answers502UpstreamBroken_ChargedForTheDeviceTime(string model, string said)
    {
        using var response = await ChatAsync(model, maxTokens: 8);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("upstream_broken", error.GetProperty("code").GetString());
        Assert.Contains(said, error.GetProperty("message").GetString());
        var row = LastRow(model);
        Assert.Equal("upstream_broken", row.Status);
        Assert.True(row.CostUsd > 0);
        await AssertBillAddsUpAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ChoiceThatIsNull_RelayedAsItCame_NotA500(bool stream)
    {
        // "choices": [null] was a NullReferenceException in the gateway.
        using var response = await ChatAsync("up-nullchoice", maxTokens: 8, stream: stream);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(stream ? "\"choices\":[null]" : "[null]", body);
        Assert.Equal("ok", LastRow("up-nullchoice").Status);
        await AssertBillAddsUpAsync();
    }

    [Fact]
    public async Task StreamChunkNotUnicode_StreamEndsWithAnErrorEvent_AfterTheGoodChunks()
    {
        using var response = await ChatAsync("up-badtext", maxTokens: 8, stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the stream had begun
        Assert.Contains("\"Where\"", body);
        Assert.Contains("upstream_broken", body);
        Assert.Contains("$.choices[0].delta.content", body);
        Assert.DoesNotContain("money", body);
        Assert.Equal("upstream_broken", LastRow("up-badtext").Status);
        await AssertBillAddsUpAsync();
    }

    [Fact]
    public async Task ErrorMessageNotUnicode_PassedOnAsTheTextItCameAs()
    {
        using var response = await ChatAsync("up-badtexterror", maxTokens: 8);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("cannot read \\ud800 here", message);
    }

    /// <summary>With nothing in flight, the requests' share of gpu0's bill is exactly the sum of their rows.</summary>
    private async Task AssertBillAddsUpAsync()
    {
        var device = _front.Services.GetRequiredService<CostMeter>().Devices.Single(d => d.Device == "gpu0");
        await Eventually.TrueAsync(() =>
        {
            var account = device.Snapshot();
            var rows = LedgerFile.Rows(_front.LedgerPath, "SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE device = 'gpu0'", r => r.GetDouble(0)).Single();
            return account.InFlight == 0 && Math.Abs(rows - account.FinishedUsd) <= 1e-9 * Math.Max(1, account.BillUsd);
        }, "the rows to add up to the requests' share of the bill");
    }

    private Task<HttpResponseMessage> ChatAsync(string model, int maxTokens, bool stream = false) =>
        _front.Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content = "Who ate the budget?" } },
            max_tokens = maxTokens,
            stream,
        });

    private (string Status, int InputTokens, int OutputTokens, double CostUsd, bool Estimated) LastRow(string model) =>
        LedgerFile.Rows(_front.LedgerPath, $"SELECT status, input_tokens, output_tokens, cost_usd, usage_estimated FROM requests WHERE model = '{model}' ORDER BY id DESC LIMIT 1",
            r => (r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetDouble(3), r.GetInt64(4) == 1)).Single();
}
