using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// An OpenAI-compatible upstream that keeps every body it receives and answers what a full-featured server would:
/// tool calls (whole, or as streamed deltas), log probabilities, a system fingerprint, as many choices as <c>n</c>, JSON
/// when asked for, usage with cached and reasoning token details, and a field no version of the API has.
/// </summary>
internal sealed class RecordingUpstream : IAsyncDisposable
{
    private FakeHttpServer _server = null!;

    public string BaseUrl => $"{_server.Url}/v1";

    public ConcurrentQueue<JsonElement> Bodies { get; } = new();

    public JsonElement Last => Bodies.Last();

    public static async Task<RecordingUpstream> StartAsync()
    {
        var upstream = new RecordingUpstream();
        upstream._server = await FakeHttpServer.StartAsync(app => app.MapPost("/v1/chat/completions", upstream.HandleAsync));
        return upstream;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task HandleAsync(HttpContext http)
    {
        using var document = await JsonDocument.ParseAsync(http.Request.Body);
        var body = document.RootElement.Clone();
        Bodies.Enqueue(body);
        var tools = body.TryGetProperty("tools", out var t) && t.GetArrayLength() > 0;
        var n = body.TryGetProperty("n", out var count) ? count.GetInt32() : 1;
        var json = body.TryGetProperty("response_format", out var format) && format.GetProperty("type").GetString() == "json_object";
        var model = body.GetProperty("model").GetString();
        var usage = new
        {
            prompt_tokens = 1200, completion_tokens = 40, total_tokens = 1240,
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

    private static object Chunk(string? model, object delta, string? finish) =>
        new { id = "chatcmpl-up", @object = "chat.completion.chunk", created = 1, model, system_fingerprint = "fp_upstream", choices = new[] { new { index = 0, delta, logprobs = (object?)null, finish_reason = finish } } };
}
