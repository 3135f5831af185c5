using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ModelMeter.Server.Tests.Ledger;
using OpenAI;
using OpenAI.Chat;

namespace ModelMeter.Server.Tests.OpenAi;

/// <summary>The OpenAI-compatible routes, driven by the official OpenAI .NET SDK where it reaches.</summary>
[Collection(DemoServerCollection.Name)]
public sealed class OpenAiEndpointTests(DemoServer demo)
{
    private readonly RunningServer _server = demo.Server;

    private ChatClient Chat(string model) =>
        new(model, new ApiKeyCredential("not-needed"), new OpenAIClientOptions { Endpoint = new Uri(_server.Client.BaseAddress!, "v1") });

    [Fact]
    public async Task Models_OfficialSdk_ListsAndRetrievesEach_UnknownIsNotFound()
    {
        var models = new OpenAI.Models.OpenAIModelClient(new ApiKeyCredential("not-needed"), new OpenAIClientOptions { Endpoint = new Uri(_server.Client.BaseAddress!, "v1") });

        var listed = (await models.GetModelsAsync()).Value.Select(m => m.Id).Order().ToArray();
        OpenAI.Models.OpenAIModel one = await models.GetModelAsync("demo-medium");
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("gpt-nope"));

        Assert.Equal(["demo-large", "demo-medium", "demo-small"], listed);
        Assert.Equal(("demo-medium", "modelmeter"), (one.Id, one.OwnedBy));
        Assert.Equal(404, unknown.Status);
        Assert.Contains("model_not_found", unknown.Message);
        Assert.DoesNotContain("gpt-nope", await _server.Client.GetStringAsync("/metrics")); // no series for a name somebody typed
    }

    [Fact]
    public async Task ChatCompletion_OfficialSdk_AnswersWithUsageAndIsMeteredAndRecorded()
    {
        var before = await _server.ScrapeAsync();

        ChatCompletion completion = await Chat("demo-medium").CompleteChatAsync(
            [new SystemChatMessage("You are terse."), new UserChatMessage("Which model ate the budget?")],
            new ChatCompletionOptions { MaxOutputTokenCount = 7, Temperature = 0 });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.False(string.IsNullOrEmpty(completion.Content[0].Text));
        Assert.Equal(7, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 8);
        var after = await _server.ScrapeAsync();
        Assert.Equal(1, after["model_request_total{model_name=\"demo-medium\",endpoint=\"chat_completions\"}"] - before.GetValueOrDefault("model_request_total{model_name=\"demo-medium\",endpoint=\"chat_completions\"}"));
        var row = LedgerFile.Rows(_server.LedgerPath, $"SELECT input_tokens, output_tokens FROM requests WHERE request_id = '{completion.Id["chatcmpl-".Length..]}'", r => (r.GetInt32(0), r.GetInt32(1))).Single();
        Assert.Equal((completion.Usage.InputTokenCount, 7), row);
    }

    [Fact]
    public async Task ChatCompletion_OfficialSdkStreaming_SameTextAsWithoutStreamingAndUsageAtTheEnd()
    {
        var client = Chat("demo-small");
        ChatMessage[] messages = [new UserChatMessage("Grüße, 日本 🚀: where did the money go?")];
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 };
        ChatCompletion whole = await client.CompleteChatAsync(messages, options);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }

        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(12, usage!.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }

    [Fact]
    public async Task Completion_StreamWithUsage_EndsWithUsageChunkAndDone()
    {
        using var response = await _server.Client.PostAsJsonAsync("/v1/completions", new
        {
            model = "demo-small", prompt = "Once upon a time", max_tokens = 5, temperature = 0, stream = true, stream_options = new { include_usage = true },
        });
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToArray();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToArray();
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var text = string.Concat(chunks[..^1].Select(c => c.GetProperty("choices")[0].GetProperty("text").GetString()));
        using var plain = await _server.Client.PostAsJsonAsync("/v1/completions", new { model = "demo-small", prompt = "Once upon a time", max_tokens = 5, temperature = 0 });
        Assert.Equal((await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString(), text);
        var requestId = plain.Headers.GetValues("X-Request-Id").Single();
        var costUsd = double.Parse(plain.Headers.GetValues("X-ModelMeter-Cost-Usd").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var recorded = LedgerFile.Rows(_server.LedgerPath, $"SELECT cost_usd FROM requests WHERE request_id = '{requestId}'", r => r.GetDouble(0)).Single();
        Assert.Equal(recorded, costUsd);
    }

    [Fact]
    public async Task ChatStream_ClientLeavesAfterFirstChunk_GenerationStopsAndIsChargedAsClientClosed()
    {
        const string closed = "model_request_errors_total{model_name=\"demo-large\",endpoint=\"chat_completions\",reason=\"client_closed\"}";
        var before = await _server.ScrapeAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "demo-large", messages = new[] { new { role = "user", content = "tell me everything" } }, max_tokens = 512, temperature = 0, stream = true }),
        })
        using (var response = await _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: {", await reader.ReadLineAsync());
        }

        // Its error and nothing in flight, in one scrape: a scrape brings tokens and cost up to date before it writes the
        // error counter, so a request ending in between shows its error there without them (the next scrape has all).
        Dictionary<string, double> after = before;
        for (var i = 0; i < 100 && (after.GetValueOrDefault(closed) == before.GetValueOrDefault(closed) || after["model_inflight_requests{model_name=\"demo-large\"}"] != 0); i++)
        {
            await Task.Delay(100);
            after = await _server.ScrapeAsync();
        }

        Assert.Equal(1, after[closed] - before.GetValueOrDefault(closed));
        Assert.Equal(0, after["model_inflight_requests{model_name=\"demo-large\"}"]);
        Assert.InRange(after["model_tokens_total{model_name=\"demo-large\",direction=\"output\"}"] - before["model_tokens_total{model_name=\"demo-large\",direction=\"output\"}"], 1, 511);
        Assert.True(after["model_estimated_cost_dollars_total{model_name=\"demo-large\"}"] > before["model_estimated_cost_dollars_total{model_name=\"demo-large\"}"]);
    }

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": \"hi\"}", HttpStatusCode.BadRequest, "model")]
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": ", HttpStatusCode.BadRequest, "body")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": [\"a\", \"b\"]}", HttpStatusCode.BadRequest, "prompt")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"n\": 3}", HttpStatusCode.BadRequest, "n")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"max_tokens\": 100000}", HttpStatusCode.BadRequest, "max_tokens")]
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": []}", HttpStatusCode.BadRequest, "messages")]
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": [null]}", HttpStatusCode.BadRequest, "messages")] // was a 500
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}", HttpStatusCode.BadRequest, "messages")]
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": 0}", HttpStatusCode.BadRequest, "max_completion_tokens")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"a\\ud800b\"}", HttpStatusCode.BadRequest, "prompt")] // a surrogate without its pair
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"stop\": [\"\\udc00\"]}", HttpStatusCode.BadRequest, "stop")]
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}", HttpStatusCode.BadRequest, "messages")]
    [InlineData("/v1/responses", "{\"model\": \"demo-small\", \"input\": \"a\\ud800\"}", HttpStatusCode.BadRequest, "input")]
    [InlineData("/v1/embeddings", "{\"model\": \"demo-small\", \"input\": [\"ok\", \"\\udfff\"]}", HttpStatusCode.BadRequest, "input")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"stream\": true, \"stream_options\": 5}", HttpStatusCode.BadRequest, "stream_options")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"model\": \"demo-large\"}", HttpStatusCode.BadRequest, "model")] // was served by demo-large
    [InlineData("/v1/chat/completions", "{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"role\": \"system\"}]}", HttpStatusCode.BadRequest, "messages")]
    [InlineData("/v1/chat/completions", "{\"model\": \"gpt-nope\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", HttpStatusCode.NotFound, "model")]
    public async Task OpenAiRoutes_BadInput_AnswerOpenAiErrorNamingTheField(string route, string body, HttpStatusCode status, string? field)
    {
        using var response = await _server.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.DoesNotContain("a valid value", error.GetProperty("message").GetString()); // says what the field should hold
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(field, error.GetProperty("param").GetString());

        Assert.DoesNotContain("gpt-nope", await _server.Client.GetStringAsync("/metrics"));
    }

    [Theory]
    [InlineData("{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"stream\": true, \"stream_options\": {\"include_usage\": \"yes\"}}", "stream_options.include_usage", "must be true or false")]
    [InlineData("{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": 5, \"content\": \"hi\"}]}", "messages[1].role", "must be a string")]
    [InlineData("{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\", \"name\": 5}]}", "messages[0].name", "must be a string")]
    public async Task NestedFieldOfTheWrongType_TheMessageSaysWhatItHolds(string body, string field, string said)
    {
        // Was "must be well-formed (see the API's description of it)" for any field inside an object or a list.
        using var response = await _server.Client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Equal($"{field} {said}.", error.GetProperty("message").GetString());
    }
}
