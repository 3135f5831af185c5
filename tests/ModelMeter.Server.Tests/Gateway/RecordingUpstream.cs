using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// An OpenAI-compatible upstream that keeps every body it receives and answers what a full-featured server would:
/// tool calls (whole, or as streamed deltas), log probabilities, a system fingerprint, as many choices as <c>n</c>, JSON
/// when asked for, usage with cached and reasoning token details, and a field no version of the API has; embeddings
/// (floats or base64, as asked) and the Responses API, plain or streamed with its named events.
/// </summary>
internal sealed class RecordingUpstream : IAsyncDisposable
{
    private FakeHttpServer _server = null!;

    public string BaseUrl => $"{_server.Url}/v1";

    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    public JsonElement Last => Bodies.Last();

    /// <summary>The <c>completion_tokens</c> (<c>output_tokens</c>) its usage reports.</summary>
    public int CompletionTokens { get; set; } = 40;

    /// <summary>The <c>prompt_tokens</c> of an embedding's usage.</summary>
    public const int EmbeddingTokens = 8;

    public static async Task<RecordingUpstream> StartAsync()
    {
        var upstream = new RecordingUpstream();
        upstream._server = await FakeHttpServer.StartAsync(app =>
        {
            app.MapPost("/v1/chat/completions", upstream.HandleAsync);
            app.MapPost("/v1/embeddings", upstream.EmbedAsync);
            app.MapPost("/v1/responses", upstream.RespondAsync);
        });
        return upstream;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task HandleAsync(HttpContext http)
    {
        var body = await RecordAsync(http);
        var tools = body.TryGetProperty("tools", out var t) && t.GetArrayLength() > 0;
        var n = body.TryGetProperty("n", out var count) ? count.GetInt32() : 1;
        var json = body.TryGetProperty("response_format", out var format) && format.GetProperty("type").GetString() == "json_object";
        var model = body.GetProperty("model").GetString();
        var usage = new
        {
            prompt_tokens = 1200, completion_tokens = CompletionTokens, total_tokens = 1200 + CompletionTokens,
            prompt_tokens_details = new { cached_tokens = 1000 }, completion_tokens_details = new { reasoning_tokens = 12 },
        };
        if (body.TryGetProperty("stream", out var stream) && stream.GetBoolean())
        {
            http.Response.ContentType = "text/event-stream";
            var events = tools
                ? new object[]
                {
                    Chunk(model, new { role = "assistant", tool_calls = new[] { new { index = 0, id = "call_1", type = "function", function = new { name = "get_bill", arguments = "" } } } }, null),
                    Chunk(model, new { tool_calls = new[] { new { index = 0, function = new { arguments = "{\"month\":" } } } }, null),
                    Chunk(model, new { tool_calls = new[] { new { index = 0, function = new { arguments = "\"2026-11\"}" } } } }, null),
                    Chunk(model, new { }, "tool_calls"),
                }
                : [Chunk(model, new { role = "assistant", content = "The bill" }, null), Chunk(model, new { content = " is paid." }, "stop")];
            foreach (var e in events)
            {
                await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(e)}\n\n");
                await http.Response.Body.FlushAsync();
            }

            if (body.TryGetProperty("stream_options", out var options) && options.GetProperty("include_usage").GetBoolean())
            {
                await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(new { id = "chatcmpl-up", @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage })}\n\n");
            }

            await http.Response.WriteAsync("data: [DONE]\n\n");
            return;
        }

        var choices = Enumerable.Range(0, n).Select(i => (object)new
        {
            index = i,
            message = tools
                ? (object)new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_bill", arguments = "{\"month\":\"2026-11\"}" } } } }
                : new { role = "assistant", content = json ? "{\"spent_usd\": 12.5}" : $"Answer {i}", refusal = (string?)null },
            logprobs = new { content = new[] { new { token = "Answer", logprob = -0.25, bytes = new[] { 65 }, top_logprobs = new[] { new { token = "Answer", logprob = -0.25, bytes = new[] { 65 } } } } } },
            finish_reason = tools ? "tool_calls" : "stop",
        }).ToArray();
        await http.Response.WriteAsJsonAsync(new
        {
            id = "chatcmpl-up", @object = "chat.completion", created = 1, model, system_fingerprint = "fp_upstream", choices, usage,
            service_tier = "default", x_vendor_field = new { kept = true },
        });
    }

    private async Task<JsonElement> RecordAsync(HttpContext http)
    {
        using var document = await JsonDocument.ParseAsync(http.Request.Body);
        var body = document.RootElement.Clone();
        Bodies.Enqueue(body);
        return body;
    }

    private async Task EmbedAsync(HttpContext http)
    {
        var body = await RecordAsync(http);
        var inputs = body.GetProperty("input") is { ValueKind: JsonValueKind.Array } list ? list.GetArrayLength() : 1;
        var base64 = body.TryGetProperty("encoding_format", out var format) && format.GetString() == "base64";
        float[] vector = [0.25f, -0.5f, 1f];
        await http.Response.WriteAsJsonAsync(new
        {
            @object = "list",
            data = Enumerable.Range(0, inputs).Select(i => new
            {
                @object = "embedding", index = i,
                embedding = base64 ? (object)Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan())) : vector,
            }),
            model = body.GetProperty("model").GetString(),
            usage = new { prompt_tokens = EmbeddingTokens, total_tokens = EmbeddingTokens },
        });
    }

    private async Task RespondAsync(HttpContext http)
    {
        var body = await RecordAsync(http);
        var model = body.GetProperty("model").GetString();
        object Response(string status, bool whole) => new
        {
            id = "resp_up", @object = "response", created_at = 1, status, model, error = (object?)null, incomplete_details = (object?)null,
            output = whole
                ? new object[] { new { type = "message", id = "msg_up", status = "completed", role = "assistant", content = new[] { new { type = "output_text", text = "The bill is paid.", annotations = Array.Empty<object>() } } } }
                : [],
            parallel_tool_calls = true, tools = Array.Empty<object>(), x_vendor_field = new { kept = true },
            usage = whole
                ? new
                {
                    input_tokens = 1200, input_tokens_details = new { cached_tokens = 1000 },
                    output_tokens = CompletionTokens, output_tokens_details = new { reasoning_tokens = 12 }, total_tokens = 1200 + CompletionTokens,
                }
                : null,
        };
        if (!(body.TryGetProperty("stream", out var stream) && stream.GetBoolean()))
        {
            await http.Response.WriteAsJsonAsync(Response("completed", whole: true));
            return;
        }

        http.Response.ContentType = "text/event-stream";
        object[] events =
        [
            new { type = "response.created", sequence_number = 0, response = Response("in_progress", whole: false) },
            new { type = "response.output_text.delta", sequence_number = 1, item_id = "msg_up", output_index = 0, content_index = 0, delta = "The bill" },
            new { type = "response.output_text.delta", sequence_number = 2, item_id = "msg_up", output_index = 0, content_index = 0, delta = " is paid." },
            new { type = "response.completed", sequence_number = 3, response = Response("completed", whole: true) },
        ];
        foreach (var e in events)
        {
            var json = JsonSerializer.SerializeToElement(e);
            await http.Response.WriteAsync($"event: {json.GetProperty("type").GetString()}\ndata: {json.GetRawText()}\n\n");
            await http.Response.Body.FlushAsync();
        }
    }

    private static object Chunk(string? model, object delta, string? finish) =>
        new { id = "chatcmpl-up", @object = "chat.completion.chunk", created = 1, model, system_fingerprint = "fp_upstream", choices = new[] { new { index = 0, delta, logprobs = (object?)null, finish_reason = finish } } };
}
