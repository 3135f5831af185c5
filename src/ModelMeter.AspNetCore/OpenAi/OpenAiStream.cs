using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>
/// Writes a generation as server-sent events in OpenAI's chunk format as the backend makes it: one chunk per
/// piece of text, the finish reason on the last, a usage chunk when asked for, then <c>data: [DONE]</c>. A gateway's
/// events are passed on as they came (tool-call deltas, log probabilities, several choices), under the client's model
/// name; the upstream's usage event only when the client asked for it. A Responses API stream is passed on the same
/// way, with its event names, its <c>response.completed</c> event last with the charged counts, and no <c>[DONE]</c>.
/// Nothing is sent before the first chunk, so a request refused before it runs still gets its status code.
/// </summary>
internal sealed class OpenAiStream(HttpContext http, string model, bool chat, long created, RequestApi api = RequestApi.Generation) : IGenerationObserver
{
    private string? _id;
    private bool _first = true;
    private bool _finished;
    private bool _relayed;
    private JsonElement? _upstreamUsage;

    public bool Started => _id is not null;

    public async ValueTask OnChunkAsync(GenerationContext context, GenerationChunk chunk, CancellationToken cancellationToken)
    {
        Start(context.RequestId);
        if (chunk.Relayed is { } upstream)
        {
            _relayed = true;
            if (api == RequestApi.Responses ? UpstreamAnswers.IsResponseEnd(upstream) : UpstreamAnswers.IsUsageOnly(upstream))
            {
                _upstreamUsage = upstream; // sent at the end with the counts charged (a chat stream's: if the client asked for usage)
                return;
            }

            await SendAsync(UpstreamAnswers.Renamed(upstream, model, api: api, withoutUsage: true), cancellationToken);
            return;
        }

        if (api != RequestApi.Generation || (chunk.Text.Length == 0 && chunk.FinishReason is null))
        {
            return; // a usage-only chunk (usage is sent at the end, from the ledger's counts), or a forwarded API's own: only relayed events go out
        }

        await SendAsync(Chunk(chunk.Text, chunk.FinishReason), cancellationToken);
        _finished |= chunk.FinishReason is not null;
    }

    /// <summary>Ends the stream after the pipeline: the finish chunk if none was sent, usage if asked for, or an error event.</summary>
    public async Task EndAsync(GenerationOutcome outcome, bool includeUsage, CancellationToken cancellationToken)
    {
        Start(outcome.RequestId);
        if (outcome.Error is { } error)
        {
            // The response has started, so the status cannot change: say so in the stream instead.
            var body = OpenAiErrors.Body(error);
            await SendAsync(api == RequestApi.Responses
                ? JsonSerializer.SerializeToNode(new { type = "error", code = body.Error.Code ?? body.Error.Type, message = body.Error.Message, param = body.Error.Param })
                : body, cancellationToken);
            return;
        }

        if (api == RequestApi.Responses)
        {
            if (_upstreamUsage is { } end)
            {
                await SendAsync(UpstreamAnswers.Renamed(end, model, outcome, api), cancellationToken);
            }

            return;
        }

        if (!_finished && !_relayed)
        {
            await SendAsync(Chunk("", outcome.FinishReason ?? "stop"), cancellationToken);
        }

        if (includeUsage && _upstreamUsage is { } upstreamUsage)
        {
            await SendAsync(UpstreamAnswers.Renamed(upstreamUsage, model, outcome), cancellationToken);
        }
        else if (includeUsage)
        {
            var usage = Usage.Of(outcome.InputTokens, outcome.OutputTokens);
            await SendAsync(chat
                ? new ChatCompletion(_id!, "chat.completion.chunk", created, model, [], usage)
                : new TextCompletion(_id!, "text_completion", created, model, [], usage), cancellationToken);
        }

        await http.Response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
    }

    private void Start(string requestId)
    {
        if (_id is not null)
        {
            return;
        }

        _id = OpenAiEndpoints.Id(chat, requestId);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Request-Id"] = requestId;
    }

    private object Chunk(string text, string? finishReason)
    {
        if (!chat)
        {
            return new TextCompletion(_id!, "text_completion", created, model, [new TextChoice(0, text, null, finishReason)], null);
        }

        var delta = new AssistantMessage(_first ? "assistant" : null, text);
        _first = false;
        return new ChatCompletion(_id!, "chat.completion.chunk", created, model, [new ChatChoice(0, null, delta, null, finishReason)], null);
    }

    private async Task SendAsync(object? payload, CancellationToken cancellationToken)
    {
        var data = JsonSerializer.Serialize(payload, RequestBody.Json);
        if (api == RequestApi.Responses && payload is JsonObject { } named && named["type"]?.GetValueKind() == JsonValueKind.String)
        {
            await http.Response.WriteAsync($"event: {named["type"]!.GetValue<string>()}\n", cancellationToken); // the Responses API names its events
        }

        await http.Response.WriteAsync("data: " + data + "\n\n", cancellationToken);
        await http.Response.Body.FlushAsync(cancellationToken);
    }
}
