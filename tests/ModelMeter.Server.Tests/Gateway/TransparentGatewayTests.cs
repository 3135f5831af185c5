using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// The official OpenAI .NET SDK through a gateway model to an upstream that records what it gets: what the client asks
/// for reaches the upstream, and what the upstream answers reaches the client (tools plain and streamed, JSON mode, log
/// probabilities, several choices); a model that runs here refuses what it cannot do, naming the field.
/// </summary>
public sealed class TransparentGatewayTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private RunningServer _front = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        var settings = new GatewaySettings().Priced("big", _upstream.BaseUrl, 3, 12, "vendor/big-model").Settings;
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

    private static readonly ChatTool GetBill = ChatTool.CreateFunctionTool("get_bill", "The bill of a month", BinaryData.FromString("""{"type":"object","properties":{"month":{"type":"string"}},"required":["month"]}"""));

    [Fact]
    public async Task Tools_ReachTheUpstreamWithEveryOption_AndTheToolCallComesBack()
    {
        var options = new ChatCompletionOptions
        {
            Tools = { GetBill }, ToolChoice = ChatToolChoice.CreateRequiredChoice(), AllowParallelToolCalls = false,
            PresencePenalty = 0.5f, FrequencyPenalty = 0.25f, MaxOutputTokenCount = 40, IncludeLogProbabilities = true, TopLogProbabilityCount = 2,
        };
        options.LogitBiases[50256] = -100;

        ChatCompletion answer = await Chat("big").CompleteChatAsync([new UserChatMessage("What did November cost?")], options);

        var sent = _upstream.Last;
        Assert.Equal("vendor/big-model", sent.GetProperty("model").GetString());
        Assert.Equal("get_bill", sent.GetProperty("tools")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("required", sent.GetProperty("tool_choice").GetString());
        Assert.False(sent.GetProperty("parallel_tool_calls").GetBoolean());
        Assert.Equal((0.5, 0.25), (sent.GetProperty("presence_penalty").GetDouble(), sent.GetProperty("frequency_penalty").GetDouble()));
        Assert.True(sent.GetProperty("logprobs").GetBoolean());
        Assert.Equal(2, sent.GetProperty("top_logprobs").GetInt32());
        Assert.Equal(-100, sent.GetProperty("logit_bias").GetProperty("50256").GetInt32());
        Assert.False(sent.TryGetProperty("temperature", out _)); // never sent, never added

        Assert.Equal(ChatFinishReason.ToolCalls, answer.FinishReason);
        var call = Assert.Single(answer.ToolCalls);
        Assert.Equal(("call_1", "get_bill", "{\"month\":\"2026-11\"}"), (call.Id, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal("big", answer.Model);
        Assert.Equal("fp_upstream", answer.SystemFingerprint);
        Assert.Equal(-0.25f, Assert.Single(answer.ContentTokenLogProbabilities).LogProbability);
    }

    [Fact]
    public async Task Tools_Streamed_TheDeltasComeBackWhole()
    {
        var arguments = new System.Text.StringBuilder();
        string? name = null;
        ChatFinishReason? finish = null;
        await foreach (var update in Chat("big").CompleteChatStreamingAsync([new UserChatMessage("What did November cost?")], new ChatCompletionOptions { Tools = { GetBill } }))
        {
            foreach (var part in update.ToolCallUpdates)
            {
                name ??= part.FunctionName;
                arguments.Append(part.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            Assert.Equal("big", update.Model);
        }

        Assert.Equal(("get_bill", "{\"month\":\"2026-11\"}", ChatFinishReason.ToolCalls), (name, arguments.ToString(), finish));
        Assert.True(_upstream.Last.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task JsonModeAndThreeChoices_PassThrough_AndUsageDetailsReachTheClient()
    {
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };
        ChatCompletion json = await Chat("big").CompleteChatAsync([new UserChatMessage("Spend as JSON")], options);
        Assert.Equal("json_object", _upstream.Last.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(12.5, JsonDocument.Parse(json.Content[0].Text).RootElement.GetProperty("spent_usd").GetDouble());
        Assert.Equal(1000, json.Usage.InputTokenDetails.CachedTokenCount);
        Assert.Equal(12, json.Usage.OutputTokenDetails.ReasoningTokenCount);

        using var three = await _front.Client.PostAsJsonAsync("/v1/chat/completions", new { model = "big", messages = new[] { new { role = "user", content = "three ways" } }, n = 3, top_k = 40 });
        var body = await three.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["Answer 0", "Answer 1", "Answer 2"], body.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()));
        Assert.True(body.GetProperty("x_vendor_field").GetProperty("kept").GetBoolean());
        Assert.Equal(40, _upstream.Last.GetProperty("top_k").GetInt32()); // a vendor's field, forwarded
        Assert.Equal(3, _upstream.Last.GetProperty("n").GetInt32());
    }

    [Theory]
    [InlineData("{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}", "tools")]
    [InlineData("{\"response_format\": {\"type\": \"json_object\"}}", "response_format")]
    [InlineData("{\"logprobs\": true}", "logprobs")]
    [InlineData("{\"top_logprobs\": 2}", "top_logprobs")]
    [InlineData("{\"n\": 2}", "n")]
    [InlineData("{\"tool_choice\": \"required\"}", "tool_choice")]
    [InlineData("{\"frequency_penalty\": 0.5}", "frequency_penalty")] // these five were answered 200 as if asked for nothing
    [InlineData("{\"presence_penalty\": -1}", "presence_penalty")]
    [InlineData("{\"logit_bias\": {\"50256\": -100}}", "logit_bias")]
    [InlineData("{\"echo\": true}", "echo")]
    [InlineData("{\"best_of\": 2}", "best_of")]
    [InlineData("{\"suffix\": \" and so on\"}", "suffix")]
    [InlineData("{\"modalities\": [\"text\", \"audio\"], \"audio\": {\"voice\": \"alloy\", \"format\": \"wav\"}}", "audio")]
    [InlineData("{\"modalities\": [\"audio\"]}", "modalities")]
    [InlineData("{\"web_search_options\": {}}", "web_search_options")]
    public async Task LocalModel_RefusesWhatItCannotDo_NamingTheField(string extra, string field)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(extra)!;
        body["model"] = JsonSerializer.SerializeToElement("demo-small");
        body["messages"] = JsonSerializer.SerializeToElement(new[] { new { role = "user", content = "hi" } });

        using var response = await _front.Client.PostAsJsonAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Contains(field, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task LocalModel_ResponseFormatText_IsServed()
    {
        using var response = await _front.Client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "demo-small", messages = new[] { new { role = "user", content = "hi" } }, response_format = new { type = "text" }, max_tokens = 3,
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task LocalModel_OptionsAtTheirDefaults_AreServed()
    {
        // What clients such as LangChain send on every request: asking for nothing, so nothing to refuse.
        using var response = await _front.Client.PostAsJsonAsync("/v1/completions", new Dictionary<string, object?>
        {
            ["model"] = "demo-small", ["prompt"] = "hi", ["max_tokens"] = 3, ["frequency_penalty"] = 0, ["presence_penalty"] = 0.0,
            ["logit_bias"] = new Dictionary<string, int>(), ["echo"] = false, ["best_of"] = 1, ["suffix"] = null, ["n"] = 1, ["modalities"] = new[] { "text" },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private ChatClient Chat(string model) =>
        new(model, new ApiKeyCredential("not-needed"), new OpenAIClientOptions { Endpoint = new Uri(_front.Client.BaseAddress!, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
}
