using System.Text.Json;
using System.Threading.Channels;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>
/// Streams a generation as server-sent events in OpenAI's chunk format: one chunk per piece of text,
/// a last chunk with the finish reason, a usage chunk when asked for, then <c>data: [DONE]</c>.
/// The model runs on a worker thread and hands tokens over a channel; text is sent only once its
/// bytes form whole characters.
/// </summary>
internal static class OpenAiStream
{
    /// <summary>Streams the answer; returns a problem instead when the request fails before its first token (queue full, ...).</summary>
    public static async Task<IResult> WriteAsync(HttpContext http, GenerationService generation, AdmittedGeneration call, string model, bool chat, bool includeUsage)
    {
        var requestId = GenerationRun.NewRequestId();
        var id = OpenAiShapes.Id(chat, requestId);
        var created = OpenAiShapes.Created(http);
        var tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var run = Task.Run(async () =>
        {
            try
            {
                return await generation.RunAsync(http, call, new ChannelSink(tokens.Writer), requestId);
            }
            finally
            {
                tokens.Writer.Complete();
            }
        });

        // Nothing is sent until the first token exists, so a request refused in the queue still gets its status code.
        var aborted = http.RequestAborted;
        try
        {
            if (!await tokens.Reader.WaitToReadAsync(aborted) && (await run).Problem is { } early)
            {
                return early;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            await run;
            return Results.Empty;
        }

        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Request-Id"] = requestId;
        var generated = new List<int>();
        var sent = "";
        var first = true;
        try
        {
            await foreach (var token in tokens.Reader.ReadAllAsync(aborted))
            {
                generated.Add(token);
                var text = call.Served.Backend.Decode(generated);
                if (text.EndsWith('\uFFFD') || text.Length <= sent.Length || !text.StartsWith(sent, StringComparison.Ordinal))
                {
                    continue; // an incomplete character: wait for its other bytes
                }

                await SendAsync(http, Chunk(id, created, model, chat, text[sent.Length..], finishReason: null, withRole: first), aborted);
                sent = text;
                first = false;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
        }

        var outcome = await run;
        if (aborted.IsCancellationRequested)
        {
            return Results.Empty; // the client left; the run charged what it used
        }

        if (outcome.Result is not { } result)
        {
            // The response has started, so the status cannot change: say so in the stream instead.
            await SendAsync(http, new { error = new { message = "The generation failed or could not be billed; see the server log.", type = "server_error", request_id = requestId } }, aborted);
            return Results.Empty;
        }

        var rest = result.Text.Length > sent.Length && result.Text.StartsWith(sent, StringComparison.Ordinal) ? result.Text[sent.Length..] : "";
        await SendAsync(http, Chunk(id, created, model, chat, rest, result.FinishReason, withRole: first), aborted);
        if (includeUsage)
        {
            await SendAsync(http, new
            {
                id, @object = chat ? "chat.completion.chunk" : "text_completion", created, model,
                choices = Array.Empty<object>(),
                usage = OpenAiShapes.Usage(call.PromptIds.Count, result.OutputTokens),
            }, aborted);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", aborted);
        await http.Response.Body.FlushAsync(aborted);
        return Results.Empty;
    }

    private static object Chunk(string id, long created, string model, bool chat, string text, string? finishReason, bool withRole)
    {
        object choice = chat
            ? new { index = 0, delta = withRole ? new { role = "assistant", content = text } : (object)new { content = text }, logprobs = (object?)null, finish_reason = finishReason }
            : new { index = 0, text, logprobs = (object?)null, finish_reason = finishReason };
        return new { id, @object = chat ? "chat.completion.chunk" : "text_completion", created, model, choices = new[] { choice } };
    }

    private static async Task SendAsync(HttpContext http, object payload, CancellationToken cancellationToken)
    {
        await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(payload, RequestBody.Json) + "\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
    }

    private sealed class ChannelSink(ChannelWriter<int> writer) : ITokenSink
    {
        public void OnToken(int tokenId) => writer.TryWrite(tokenId);
    }
}
