using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// A small misbehaving OpenAI-compatible server on a free loopback port. Each scenario lives under its own
/// prefix (<c>/fail/v1</c>, <c>/hang/v1</c>, ...) and counts its hits, so a test can tell retries apart.
/// </summary>
internal sealed class FakeUpstream : IAsyncDisposable
{
    private FakeHttpServer _server = null!;
    private readonly ConcurrentDictionary<string, int> _hits = new();
    private readonly ConcurrentDictionary<string, JsonElement> _bodies = new();
    private readonly ConcurrentDictionary<string, string> _authorizations = new();

    public string BaseUrl(string scenario) => $"{_server.Url}/{scenario}/v1";

    public int Hits(string scenario) => _hits.GetValueOrDefault(scenario);

    /// <summary>The body of the scenario's last request, as the gateway sent it.</summary>
    public JsonElement LastBody(string scenario) => _bodies[scenario];

    /// <summary>The Authorization header of the scenario's last request.</summary>
    public string? LastAuthorization(string scenario) => _authorizations.GetValueOrDefault(scenario);

    /// <summary>The <c>slow</c> scenario sends its first chunk, then waits for this before the rest.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<FakeUpstream> StartAsync()
    {
        var upstream = new FakeUpstream();
        upstream._server = await FakeHttpServer.StartAsync(app => app.MapPost("/{scenario}/v1/chat/completions", upstream.HandleAsync));
        return upstream;
    }

    private async Task HandleAsync(string scenario, HttpContext http)
    {
        var hit = _hits.AddOrUpdate(scenario, 1, (_, n) => n + 1);
        using var body = await JsonDocument.ParseAsync(http.Request.Body);
        _bodies[scenario] = body.RootElement.Clone();
        _authorizations[scenario] = http.Request.Headers.Authorization.ToString();
        var stream = body.RootElement.TryGetProperty("stream", out var s) && s.GetBoolean();
        switch (scenario)
        {
            case "fail":
                http.Response.StatusCode = 500;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "upstream exploded", type = "server_error" } });
                return;
            case "reject":
                http.Response.StatusCode = 400;
                await http.Response.WriteAsJsonAsync(new { error = new { message = "max_tokens is too large for this upstream", type = "invalid_request_error" } });
                return;
            case "flaky" when hit == 1:
                http.Response.StatusCode = 503;
                return;
            case "hang":
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
                return;
            case "break":
                // The upstream stops mid-answer: no finish, no [DONE]. (An abort with RST could also drop the chunks already
                // sent from the client's socket buffer, which would make the test depend on timing.)
                await StreamAsync(http, ["one", " two", " three"], finish: false, usage: false);
                return;
            case "slow":
                http.Response.ContentType = "text/event-stream";
                await SendAsync(http, new { id = "c", @object = "chat.completion.chunk", choices = new[] { new { index = 0, delta = new { content = "first" }, finish_reason = (string?)null } } });
                await Release.Task.WaitAsync(http.RequestAborted);
                await StreamAsync(http, [" then", " the rest"], finish: true, usage: true);
                return;
            case "negusage" when stream:
                await StreamAsync(http, ["Where", " did", " the", " money", " go"], finish: true, usage: true, new { prompt_tokens = -5, completion_tokens = -3, total_tokens = -8 });
                return;
            case "negusage":
                await WholeAsync(http, "Where did the money go", new { prompt_tokens = -5, completion_tokens = -3, total_tokens = -8 });
                return;
            case "hugeusage" when stream:
                await StreamAsync(http, ["Where", " did", " the", " money", " go"], finish: true, usage: true, new { prompt_tokens = int.MaxValue, completion_tokens = int.MaxValue, total_tokens = -2 });
                return;
            case "hugeusage":
                await WholeAsync(http, "Where did the money go", new { prompt_tokens = int.MaxValue, completion_tokens = int.MaxValue, total_tokens = -2 });
                return;
            case "zerofirst" when !stream:
                await WholeAsync(http, string.Concat(Enumerable.Range(0, 50).Select(i => $" w{i}")), new { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 });
                return;
            case "zerofirst":
                // Usage 0 first (as some servers send on their first chunk), then fifty chunks and no usage again.
                http.Response.ContentType = "text/event-stream";
                await SendAsync(http, new { id = "c", @object = "chat.completion.chunk", choices = Array.Empty<object>(), usage = new { prompt_tokens = 0, completion_tokens = 0, total_tokens = 0 } });
                await StreamAsync(http, [.. Enumerable.Range(0, 50).Select(i => $" w{i}")], finish: true, usage: false);
                return;
            case "hugeline":
                // 4 MiB on one line and no end: a gateway that reads lines whole holds it all, then waits for more.
                http.Response.ContentType = "text/event-stream";
                await http.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"");
                for (var i = 0; i < 64; i++)
                {
                    await http.Response.WriteAsync(new string('x', 64 * 1024), http.RequestAborted);
                }

                await Task.Delay(Timeout.Infinite, http.RequestAborted);
                return;
            case "hugeerror":
                http.Response.StatusCode = 400;
                http.Response.ContentType = "text/plain";
                for (var i = 0; i < 160 && !http.RequestAborted.IsCancellationRequested; i++)
                {
                    await http.Response.WriteAsync(new string('e', 64 * 1024), http.RequestAborted);
                }

                return;
            case "gzip":
                // A small body that would inflate to 64 MiB: sent compressed though nobody asked for it.
                http.Response.Headers.ContentEncoding = "gzip";
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(GzipBomb.Value, http.RequestAborted);
                return;
            case "redirect":
                http.Response.StatusCode = 307;
                http.Response.Headers.Location = BaseUrl("redirected") + "/chat/completions";
                return;
            case "auth":
                http.Response.StatusCode = 401;
                await http.Response.WriteAsJsonAsync(new { error = new { message = $"Invalid key: {http.Request.Headers.Authorization}", type = "invalid_request_error" } });
                return;
            case "badtext" when stream:
                // Two good chunks, then one whose text is an escaped surrogate without its pair: JSON, but not text.
                http.Response.ContentType = "text/event-stream";
                await StreamAsync(http, ["Where", " did"], finish: false, usage: false);
                await http.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" the \\ud800\"},\"finish_reason\":null}]}\n\n");
                await StreamAsync(http, [" money"], finish: true, usage: true);
                return;
            case "nullchoice" when stream:
                // A chunk whose one choice is null, between good ones.
                http.Response.ContentType = "text/event-stream";
                await StreamAsync(http, ["Where"], finish: false, usage: false);
                await http.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[null]}\n\n");
                await StreamAsync(http, [" did"], finish: true, usage: true);
                return;
            case "nullchoice":
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[null],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}");
                return;
            case "dupusage":
                // Two usage objects: the last small, the first large.
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("{\"id\":\"x\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":900,\"total_tokens\":1800},"
                    + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Where\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}");
                return;
            case "badtext":
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Where \\udfff\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2,\"total_tokens\":13}}");
                return;
            case "badtexterror":
                http.Response.StatusCode = 400;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("{\"error\":{\"message\":\"cannot read \\ud800 here\",\"type\":\"invalid_request_error\"}}");
                return;
            case "nousage" when stream:
                await StreamAsync(http, ["Where", " did", " the", " money", " go"], finish: true, usage: false);
                return;
            default:
                if (stream)
                {
                    await StreamAsync(http, ["Where", " did", " the", " money", " go"], finish: true, usage: scenario != "nousage");
                    return;
                }

                await http.Response.WriteAsJsonAsync(new
                {
                    id = "chatcmpl-fake", @object = "chat.completion", created = 0, model = "fake",
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = "Where did the money go" }, finish_reason = "stop" } },
                    usage = scenario == "nousage" ? null : new { prompt_tokens = 11, completion_tokens = 5, total_tokens = 16 },
                });
                return;
        }
    }

    private static readonly Lazy<byte[]> GzipBomb = new(() =>
    {
        using var packed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(packed, System.IO.Compression.CompressionLevel.SmallestSize))
        {
            gzip.Write("{\"choices\":[{\"message\":{\"content\":\""u8);
            var zeros = new byte[1 << 20];
            Array.Fill(zeros, (byte)'0');
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }

            gzip.Write("\"}}]}"u8);
        }

        return packed.ToArray();
    });

    private static Task WholeAsync(HttpContext http, string text, object usage) => http.Response.WriteAsJsonAsync(new
    {
        id = "chatcmpl-fake", @object = "chat.completion", created = 0, model = "fake",
        choices = new[] { new { index = 0, message = new { role = "assistant", content = text }, finish_reason = "stop" } },
        usage,
    });

    private static async Task StreamAsync(HttpContext http, string[] pieces, bool finish, bool usage, object? reported = null)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.ContentType = "text/event-stream";
        }

        for (var i = 0; i < pieces.Length; i++)
        {
            var last = finish && i == pieces.Length - 1;
            await SendAsync(http, new { id = "c", @object = "chat.completion.chunk", choices = new[] { new { index = 0, delta = new { content = pieces[i] }, finish_reason = last ? "stop" : null } } });
        }

        if (!finish)
        {
            return;
        }

        if (usage)
        {
            await SendAsync(http, new { id = "c", @object = "chat.completion.chunk", choices = Array.Empty<object>(), usage = reported ?? new { prompt_tokens = 11, completion_tokens = pieces.Length, total_tokens = 11 + pieces.Length } });
        }

        await http.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static async Task SendAsync(HttpContext http, object chunk)
    {
        await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n");
        await http.Response.Body.FlushAsync();
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
