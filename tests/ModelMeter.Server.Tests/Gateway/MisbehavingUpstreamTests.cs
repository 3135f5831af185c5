using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>A gateway in front of an upstream that fails in every way we know: the client hears it right, retries happen only before the first byte, and the ledger is honest.</summary>
public sealed class MisbehavingUpstreamTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private RunningServer _front = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        var settings = new GatewaySettings()
            .OnDevice("up-fail", _upstream.BaseUrl("fail"), extra: ("Retries", "2"))
            .OnDevice("up-flaky", _upstream.BaseUrl("flaky"), extra: ("Retries", "2"))
            .OnDevice("up-hang", _upstream.BaseUrl("hang"), extra: [("TimeoutSeconds", "1"), ("Retries", "2")])
            .OnDevice("up-refused", $"http://127.0.0.1:{ClosedPort()}/v1", extra: [("ConnectTimeoutSeconds", "1"), ("Retries", "1")])
            .OnDevice("up-break", _upstream.BaseUrl("break"), extra: ("Retries", "2"))
            .OnDevice("up-nousage", _upstream.BaseUrl("nousage"))
            .OnDevice("up-nousage-gpt2", _upstream.BaseUrl("nousage"), extra: ("Tokenizer", "gpt2"))
            .OnDevice("up-slow", _upstream.BaseUrl("slow"))
            .OnDevice("up-echo", _upstream.BaseUrl("echo"), "their-name-for-it")
            .Priced("up-reject", _upstream.BaseUrl("reject"), 1000, 2000)
            .Priced("up-ok-priced", _upstream.BaseUrl("ok"), 1000, 2000);
        _front = await RunningServer.StartAsync(settings.Settings);
    }

    public async Task DisposeAsync()
    {
        await _front.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Upstream500_RetriedTwiceThenPassedOnWithItsMessage()
    {
        using var response = await ChatAsync("up-fail");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Contains("upstream exploded", error.GetProperty("message").GetString());
        Assert.Equal(3, _upstream.Hits("fail"));
        Assert.Equal("upstream_rejected", LastRow("up-fail").Status);
        var samples = await _front.ScrapeAsync(); // three tries, one failed request
        Assert.Equal(1, samples["model_request_errors_total{model_name=\"up-fail\",endpoint=\"chat_completions\",reason=\"upstream_rejected\"}"]);
    }

    [Fact]
    public async Task Upstream503Once_RetriedBeforeTheFirstByte_Answers200()
    {
        using var response = await ChatAsync("up-flaky");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, _upstream.Hits("flaky"));
    }

    [Fact]
    public async Task UpstreamHangs_Answers504AfterTheConfiguredTimeout()
    {
        var clock = Stopwatch.StartNew();
        using var response = await ChatAsync("up-hang");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.9, 10); // TimeoutSeconds = 1 bounds the whole request, retries included
        Assert.Equal("upstream_timeout", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamRefusesConnections_Answers502()
    {
        using var response = await ChatAsync("up-refused");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("upstream_unreachable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task UpstreamBreaksMidStream_StreamEndsWithAnErrorEventAndIsChargedForWhatRan()
    {
        using var response = await ChatAsync("up-break", stream: true);
        var events = await SseEventsAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("one two three", string.Concat(events.Where(e => e.TryGetProperty("choices", out _)).Select(e => e.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString())));
        Assert.True(events[^1].TryGetProperty("error", out var error), "the last event is an error");
        Assert.Equal("upstream_broken", error.GetProperty("code").GetString());
        Assert.Equal(1, _upstream.Hits("break")); // nothing is retried once the answer flows
        var row = LastRow("up-break");
        Assert.Equal(("upstream_broken", 3), (row.Status, row.OutputTokens));
        Assert.True(row.CostUsd > 0, "the device time it used is charged");
    }

    [Fact]
    public async Task Chat_ForwardsTheMessagesAsSentWithTheClientsFields()
    {
        using var response = await _front.Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "up-echo",
            messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = new[] { new { type = "text", text = "Grüße 🚀" } } } },
            max_completion_tokens = 7, temperature = 0.3, top_p = 0.9, seed = 42, stop = new[] { "\n\n" }, user = "alice",
        });
        response.EnsureSuccessStatusCode();

        var sent = _upstream.LastBody("echo");
        Assert.Equal("their-name-for-it", sent.GetProperty("model").GetString());
        Assert.Equal("Be brief.", sent.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal("Grüße 🚀", sent.GetProperty("messages")[1].GetProperty("content")[0].GetProperty("text").GetString()); // the parts as sent
        Assert.Equal(7, sent.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(sent.TryGetProperty("max_tokens", out _));
        Assert.Equal((0.3, 0.9, 42), (sent.GetProperty("temperature").GetDouble(), sent.GetProperty("top_p").GetDouble(), sent.GetProperty("seed").GetInt32()));
        Assert.Equal("\n\n", sent.GetProperty("stop")[0].GetString());
        Assert.Equal("alice", sent.GetProperty("user").GetString());
        Assert.False(sent.TryGetProperty("stream", out _));
    }

    [Fact]
    public async Task Stream_AsksTheUpstreamForUsage()
    {
        using var response = await ChatAsync("up-echo", stream: true);
        await response.Content.ReadAsStringAsync();

        var sent = _upstream.LastBody("echo");
        Assert.True(sent.GetProperty("stream").GetBoolean());
        Assert.True(sent.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(8, sent.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task Stream_PassesEachChunkThroughAsItArrives()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "up-slow", messages = new[] { new { role = "user", content = "go" } }, stream = true }),
        };
        using var response = await _front.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // The upstream holds the rest of its answer until the client has seen the first chunk: a gateway that buffered would never get here.
        string? line;
        while ((line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))) is not null && !line.Contains("first", StringComparison.Ordinal))
        {
        }

        Assert.NotNull(line);
        _upstream.Release.SetResult();
        var rest = await reader.ReadToEndAsync();
        Assert.True(rest.Contains(" the rest", StringComparison.Ordinal), rest);
        Assert.EndsWith("data: [DONE]\n\n", rest);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpstreamOmitsUsage_CountedHereAndMarkedEstimated(bool stream)
    {
        using var response = await ChatAsync("up-nousage", stream);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsStringAsync();

        var row = LastRow("up-nousage");
        Assert.True(row.Estimated);
        Assert.True(row.OutputTokens >= 5, $"{row.OutputTokens} output tokens");
        Assert.True(row.InputTokens > 0);
    }

    [Fact]
    public async Task UpstreamOmitsUsage_WithATokenizer_CountsExactlyWithIt()
    {
        using var response = await ChatAsync("up-nousage-gpt2", stream: true);
        await response.Content.ReadAsStringAsync();

        var gpt2 = TiktokenTokenizer.CreateForModel("gpt2");
        var row = LastRow("up-nousage-gpt2");
        Assert.True(row.Estimated);
        Assert.Equal(gpt2.CountTokens("Where did the money go"), row.OutputTokens);
        Assert.Equal(gpt2.CountTokens("Who ate the budget?"), row.InputTokens);
    }

    [Fact]
    public async Task PricedModel_UpstreamRefuses_PassesTheStatusOnAndChargesNothing()
    {
        using var response = await ChatAsync("up-reject");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("too large for this upstream", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString());
        var row = LastRow("up-reject");
        Assert.Equal((0.0, 0, 0), (row.CostUsd, row.InputTokens, row.OutputTokens));
    }

    [Fact]
    public async Task PricedModel_Answer_CostIsTokensTimesPrice()
    {
        using var response = await ChatAsync("up-ok-priced");
        var usage = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");

        var row = LastRow("up-ok-priced");
        Assert.Equal((11, 5), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32()));
        Assert.Equal((11 * 1000 + 5 * 2000) / 1e6, row.CostUsd, 12);
        Assert.Equal("", row.Device);
    }

    private Task<HttpResponseMessage> ChatAsync(string model, bool stream = false) =>
        _front.Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model,
            messages = new[] { new { role = "user", content = "Who ate the budget?" } },
            max_tokens = 8,
            stream,
        });

    private static async Task<List<JsonElement>> SseEventsAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Split('\n').Where(l => l.StartsWith("data: {", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement.Clone()).ToList();
    }

    private (string Status, int InputTokens, int OutputTokens, double CostUsd, bool Estimated, string Device) LastRow(string model) =>
        LedgerFile.Rows(_front.LedgerPath, $"SELECT status, input_tokens, output_tokens, cost_usd, usage_estimated, device FROM requests WHERE model = '{model}' ORDER BY id DESC LIMIT 1",
            r => (r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetDouble(3), r.GetInt64(4) == 1, r.GetString(5))).Single();

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
