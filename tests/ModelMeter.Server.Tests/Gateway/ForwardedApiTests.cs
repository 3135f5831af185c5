#pragma warning disable OPENAI001 // the Responses API client is marked for evaluation in the SDK

using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Responses;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// Every price dimension and the rest of the API through a gateway, with the official OpenAI .NET SDK as the client and an
/// upstream that records what it gets: cached prompt tokens charged at the cache price (to 1e-12), reasoning tokens kept as
/// output and recorded, embeddings and the Responses API forwarded and metered, the same tenants, ledger rows and errors.
/// </summary>
public sealed class ForwardedApiTests : IAsyncLifetime
{
    // The example: 3 USD per million input tokens, 0.3 per million read from the cache, 12 per million output.
    private const double Input = 3, Cached = 0.3, Output = 12;

    private RecordingUpstream _upstream = null!;
    private RunningServer _front = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        var settings = new GatewaySettings()
            .Priced("paid", _upstream.BaseUrl, Input, Output, "vendor/paid", ("Price:CachedInputPerMillion", "0.3"))
            .Priced("plain", _upstream.BaseUrl, Input, Output, "vendor/plain")
            .Priced("strict", _upstream.BaseUrl, Input, Output, "vendor/strict", ("DeniedFields:0", "n"), ("DeniedFields:1", "logit_bias"))
            .OnDevice("selfhosted", _upstream.BaseUrl)
            .Priced("vendor/with-slash", _upstream.BaseUrl, Input, Output, "vendor/plain")
            .Settings;
        foreach (var (key, value) in RunningServer.DemoSettings(3600, "demo-small"))
        {
            settings[key] = value;
        }

        _front = await RunningServer.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _front.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task ModelNamedWithASlash_RetrievedAndServedOnItsPath()
    {
        // Hugging Face names, as vLLM serves them: the route's model is the rest of the path.
        var entry = await _front.Client.GetFromJsonAsync<JsonElement>("/v1/models/vendor/with-slash");
        Assert.Equal("vendor/with-slash", entry.GetProperty("id").GetString());

        var chat = await Chat("vendor/with-slash").CompleteChatAsync([new UserChatMessage("Who spent it?")]);
        Assert.Equal("vendor/plain", _upstream.Last.GetProperty("model").GetString());
        Assert.NotEmpty(chat.Value.Content);

        // /v1/generate reaches the model too: this upstream has no /completions, so its own 404 comes back, not the router's.
        using var generated = await _front.Client.PostAsJsonAsync("/v1/generate/vendor/with-slash", new { prompt = "Who spent it?", max_tokens = 5 });
        Assert.Equal("Upstream refused the request", (await generated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());

        using var unknown = await _front.Client.GetAsync("/v1/models/vendor/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("model_not_found", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task CachedPromptTokens_ChargedAtTheCachePrice_ReasoningAsOutput_AndRecorded()
    {
        _upstream.CompletionTokens = 300;
        var before = await _front.ScrapeAsync();

        var result = await Chat("paid").CompleteChatAsync([new UserChatMessage("Summarise the bill")], new ChatCompletionOptions { MaxOutputTokenCount = 400 });

        // 200 uncached × 3 + 1,000 cached × 0.3 + 300 output × 12 per million: 0.0045, not 0.0072.
        const double expected = (200 * Input + 1000 * Cached + 300 * Output) / 1e6;
        Assert.Equal(0.0045, expected, 12);
        var usage = result.Value.Usage;
        Assert.Equal((1200, 300, 1000, 12), (usage.InputTokenCount, usage.OutputTokenCount, usage.InputTokenDetails.CachedTokenCount, usage.OutputTokenDetails.ReasoningTokenCount));
        var header = double.Parse(result.GetRawResponse().Headers.TryGetValue("X-ModelMeter-Cost-Usd", out var h) ? h! : "NaN", CultureInfo.InvariantCulture);
        Assert.Equal(expected, header, 12);

        var row = LastRow("paid");
        Assert.Equal(("chat_completions", 1200, 300, 1000L, 0L, 12L, false), (row.Endpoint, row.InputTokens, row.OutputTokens, row.Cached, row.Written, row.Reasoning, row.Estimated));
        Assert.Equal(expected, row.CostUsd, 12);

        var after = await _front.ScrapeAsync();
        Assert.Equal(1000, Delta(before, after, "model_tokens_total{model_name=\"paid\",direction=\"cached_input\"}"));
        Assert.Equal(12, Delta(before, after, "model_tokens_total{model_name=\"paid\",direction=\"reasoning\"}"));
        Assert.Equal(1200, Delta(before, after, "model_tokens_total{model_name=\"paid\",direction=\"input\"}"));
        Assert.Equal(expected, Delta(before, after, "model_estimated_cost_dollars_total{model_name=\"paid\"}"), 12);

        var summary = await _front.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model");
        var line = summary.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "paid");
        Assert.True(line.GetProperty("cached_input_tokens").GetInt64() >= 1000);
        Assert.True(line.GetProperty("reasoning_tokens").GetInt64() >= 12);
    }

    [Fact]
    public async Task CachedPromptTokens_Streamed_ChargedTheSame_TheLastEventHasTheDetails()
    {
        _upstream.CompletionTokens = 40;
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat("paid").CompleteChatStreamingAsync([new UserChatMessage("Summarise the bill")], new ChatCompletionOptions { MaxOutputTokenCount = 100 }))
        {
            usage = update.Usage ?? usage;
        }

        Assert.NotNull(usage);
        Assert.Equal((1200, 40, 1000, 12), (usage.InputTokenCount, usage.OutputTokenCount, usage.InputTokenDetails.CachedTokenCount, usage.OutputTokenDetails.ReasoningTokenCount));
        var row = LastRow("paid");
        Assert.Equal((1000L, 12L), (row.Cached, row.Reasoning));
        Assert.Equal((200 * Input + 1000 * Cached + 40 * Output) / 1e6, row.CostUsd, 12);
    }

    [Fact]
    public async Task WithoutACachePrice_CachedTokensAreChargedAsInput_ButStillRecorded()
    {
        _upstream.CompletionTokens = 40;
        await Chat("plain").CompleteChatAsync([new UserChatMessage("Summarise the bill")], new ChatCompletionOptions { MaxOutputTokenCount = 100 });

        var row = LastRow("plain");
        Assert.Equal(1000L, row.Cached);
        Assert.Equal((1200 * Input + 40 * Output) / 1e6, row.CostUsd, 12);
    }

    [Fact]
    public async Task OnADevice_CachedAndReasoningTokensAreRecorded_TheCostIsTheDeviceShare()
    {
        _upstream.CompletionTokens = 40;
        var result = await Chat("selfhosted").CompleteChatAsync([new UserChatMessage("Summarise the bill")], new ChatCompletionOptions { MaxOutputTokenCount = 100 });

        var row = LastRow("selfhosted");
        Assert.Equal((1200, 40, 1000L, 12L), (row.InputTokens, row.OutputTokens, row.Cached, row.Reasoning));
        var header = double.Parse(result.GetRawResponse().Headers.TryGetValue("X-ModelMeter-Cost-Usd", out var h) ? h! : "NaN", CultureInfo.InvariantCulture);
        Assert.Equal(row.CostUsd, header, 12);
        Assert.True(row.CostUsd > 0); // its share of gpu0's time at 3,600 USD an hour, whatever its tokens
    }

    [Fact]
    public async Task LocalModel_TheSdksToolsAndEmbeddings_RefusedWith400NamingTheField()
    {
        var tools = await Assert.ThrowsAsync<ClientResultException>(() => Chat("demo-small").CompleteChatAsync(
            [new UserChatMessage("hi")], new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_bill", "The bill") } }));
        Assert.Equal(400, tools.Status);
        Assert.Contains("tools", tools.Message);

        var embed = await Assert.ThrowsAsync<ClientResultException>(() => new EmbeddingClient("demo-small", new ApiKeyCredential("not-needed"), Options()).GenerateEmbeddingAsync("hi"));
        Assert.Equal(400, embed.Status);
        Assert.Contains("demo-small", embed.Message);
    }

    [Fact]
    public async Task Embeddings_ForwardedAsSent_MeteredByInputTokens()
    {
        var client = new EmbeddingClient("paid", new ApiKeyCredential("not-needed"), Options());

        var result = await client.GenerateEmbeddingsAsync(["November's bill", "December's bill"]);

        var sent = _upstream.Last;
        Assert.Equal("vendor/paid", sent.GetProperty("model").GetString());
        Assert.Equal(2, sent.GetProperty("input").GetArrayLength());
        Assert.False(sent.TryGetProperty("max_tokens", out _)); // nothing is generated: no limit added
        Assert.Equal([0.25f, -0.5f, 1f], result.Value[1].ToFloats().ToArray());
        Assert.Equal(RecordingUpstream.EmbeddingTokens, result.Value.Usage.InputTokenCount);

        var row = LastRow("paid");
        Assert.Equal(("embeddings", RecordingUpstream.EmbeddingTokens, 0, false), (row.Endpoint, row.InputTokens, row.OutputTokens, row.Estimated));
        Assert.Equal(RecordingUpstream.EmbeddingTokens * Input / 1e6, row.CostUsd, 12);
    }

    [Fact]
    public async Task Responses_PlainAndStreamed_ForwardedAndMeteredFromTheirUsage()
    {
        _upstream.CompletionTokens = 40;
        var client = new ResponsesClient(new ApiKeyCredential("not-needed"), new ResponsesClientOptions { Endpoint = Options().Endpoint, RetryPolicy = Options().RetryPolicy });
        const double expected = (200 * Input + 1000 * Cached + 40 * Output) / 1e6;

        var whole = await client.CreateResponseAsync(new CreateResponseOptions("paid", [ResponseItem.CreateUserMessageItem("What did November cost?")]) { MaxOutputTokenCount = 100 });

        Assert.Equal("The bill is paid.", whole.Value.GetOutputText());
        Assert.Equal("paid", whole.Value.Model);
        Assert.Equal((1200, 40, 1000, 12), (whole.Value.Usage.InputTokenCount, whole.Value.Usage.OutputTokenCount, whole.Value.Usage.InputTokenDetails.CachedTokenCount, whole.Value.Usage.OutputTokenDetails.ReasoningTokenCount));
        Assert.Equal(("vendor/paid", 100), (_upstream.Last.GetProperty("model").GetString(), _upstream.Last.GetProperty("max_output_tokens").GetInt32()));
        var row = LastRow("paid");
        Assert.Equal(("responses", 1200, 40, 1000L), (row.Endpoint, row.InputTokens, row.OutputTokens, row.Cached));
        Assert.Equal(expected, row.CostUsd, 12);

        var text = new System.Text.StringBuilder();
        ResponseResult? completed = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions("paid", [ResponseItem.CreateUserMessageItem("What did November cost?")]) { MaxOutputTokenCount = 100, StreamingEnabled = true }))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal("The bill is paid.", text.ToString());
        Assert.NotNull(completed);
        Assert.Equal(("paid", 1200, 1000), (completed.Model, completed.Usage.InputTokenCount, completed.Usage.InputTokenDetails.CachedTokenCount));
        var streamed = LastRow("paid");
        Assert.Equal(("responses", 1200, 40), (streamed.Endpoint, streamed.InputTokens, streamed.OutputTokens));
        Assert.Equal(expected, streamed.CostUsd, 12);
    }

    [Theory]
    [InlineData("/v1/embeddings", "{\"model\": \"demo-small\", \"input\": \"hi\"}")]
    [InlineData("/v1/responses", "{\"model\": \"demo-small\", \"input\": \"hi\"}")]
    public async Task LocalModel_EmbeddingsAndResponses_Refused_NamingTheModel(string path, string body)
    {
        using var response = await _front.Client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(("model", "invalid_request_error"), (error.GetProperty("param").GetString(), error.GetProperty("type").GetString()));
        Assert.Contains("demo-small", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("/v1/embeddings", "{\"model\": \"paid\", \"input\": \"\"}", "input")]
    [InlineData("/v1/embeddings", "{\"model\": \"paid\", \"input\": 5}", "input")]
    [InlineData("/v1/embeddings", "{\"model\": \"paid\"}", "input")]
    [InlineData("/v1/responses", "{\"model\": \"paid\", \"input\": \"hi\", \"max_output_tokens\": -1}", "max_output_tokens")]
    [InlineData("/v1/responses", "{\"model\": \"paid\", \"input\": \"hi\", \"max_output_tokens\": \"ten\"}", "max_output_tokens")]
    [InlineData("/v1/responses", "{\"input\": \"hi\"}", "model")]
    [InlineData("/v1/chat/completions", "{\"model\": \"strict\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}", "n")]
    public async Task BadBodies_AndDeniedFields_Refused_NamingTheField_NothingForwarded(string path, string body, string field)
    {
        var forwarded = _upstream.Bodies.Count;

        using var response = await _front.Client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(forwarded, _upstream.Bodies.Count);
    }

    [Fact]
    public async Task Models_ListsWhatThisServerServes()
    {
        var models = await _front.Client.GetFromJsonAsync<JsonElement>("/v1/models");

        Assert.Equal(["demo-small", "paid", "plain", "selfhosted", "strict", "vendor/with-slash"], models.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).Order());
    }

    private OpenAIClientOptions Options() =>
        new() { Endpoint = new Uri(_front.Client.BaseAddress!, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };

    private ChatClient Chat(string model) => new(model, new ApiKeyCredential("not-needed"), Options());

    private static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string series) =>
        after.GetValueOrDefault(series) - before.GetValueOrDefault(series);

    private (string Endpoint, int InputTokens, int OutputTokens, long Cached, long Written, long Reasoning, double CostUsd, bool Estimated) LastRow(string model) =>
        LedgerFile.Rows(_front.LedgerPath,
            $"SELECT endpoint, input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd, usage_estimated FROM requests WHERE model = '{model}' ORDER BY id DESC LIMIT 1",
            r => (r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetDouble(6), r.GetInt64(7) == 1)).Single();
}
