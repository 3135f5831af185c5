using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Gateway;

internal partial class OpenAiGatewayBackend
{
    /// <summary>Snake_case both ways; nulls are not sent, so the upstream's defaults apply to what the client left out.</summary>
    internal static readonly JsonSerializerOptions UpstreamJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A non-streamed answer: one object.</summary>
    private async IAsyncEnumerable<(UpstreamAnswer Answer, JsonElement Raw)> ReadWholeAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken token)
    {
        await using var body = await response.Content.ReadAsStreamAsync(token);
        var bytes = await UpstreamBody.ReadAsync(body, upstream.Limits.AnswerBytes, token);
        yield return Parse(bytes);
    }

    /// <summary>One answer or event: typed, for the counts and text ModelMeter reads, and as it came, to pass on.</summary>
    private static (UpstreamAnswer Answer, JsonElement Raw) Parse(ReadOnlySpan<byte> json)
    {
        JsonElement raw;
        try
        {
            // The parser refuses a name given twice in one object as it reads (cheaper than a walk after it, per event).
            raw = JsonSerializer.Deserialize<JsonElement>(json, NoDuplicates);
        }
        catch (JsonException) when (Http.JsonText.FindDuplicate(JsonSerializer.Deserialize<JsonElement>(json)) is { } duplicate)
        {
            // Refused for a name given twice: said with its path. Billed from the last "usage" while a client's parser may
            // read the first, the answer cannot be relayed as it is. (A filter that throws, on JSON that is bad anyway or
            // holds an unreadable name, is false: the parser's own exception goes on.)
            throw new JsonException($"The upstream's answer gives {duplicate} twice in one object.");
        }

        if (Http.JsonText.FindUnreadable(raw) is { } unreadable)
        {
            throw new JsonException($"The upstream's answer holds text that is not valid Unicode at {unreadable}.");
        }

        var answer = raw.Deserialize<UpstreamAnswer>(UpstreamJson) ?? throw new JsonException("The upstream's answer was null.");
        return (answer, raw);
    }

    private static readonly JsonSerializerOptions NoDuplicates = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// Server-sent events: each <c>data:</c> line is one chunk until <c>data: [DONE]</c> (a Responses API stream ends after its
    /// <c>response.completed</c> or <c>response.incomplete</c> event instead); a stream that ends before was broken off.
    /// </summary>
    private async IAsyncEnumerable<(UpstreamAnswer Answer, JsonElement Raw)> ReadStreamAsync(HttpResponseMessage response, RequestApi api, [EnumeratorCancellation] CancellationToken token)
    {
        var ended = false;
        await using var body = await response.Content.ReadAsStreamAsync(token);
        await foreach (var line in UpstreamBody.LinesAsync(body, upstream.Limits, token))
        {
            if (!line.StartsWith("data:", StringComparison.Ordinal))
            {
                continue; // blank separators, comments, event names
            }

            var data = line.AsMemory(5).Trim();
            if (data.Span.SequenceEqual("[DONE]"))
            {
                yield break;
            }

            var parsed = Parse(System.Text.Encoding.UTF8.GetBytes(data.ToString()));
            ended |= api == RequestApi.Responses && parsed.Answer.Type is "response.completed" or "response.incomplete";
            yield return parsed;
        }

        if (!ended)
        {
            throw new IOException(api == RequestApi.Responses ? "The stream ended without its response.completed event." : "The stream ended without data: [DONE].");
        }
    }

    /// <summary>
    /// The text one answer or event adds: a choice's text or delta; a Responses API stream's <c>output_text</c> delta, or a whole
    /// response's output text; nothing from an embedding.
    /// </summary>
    private static string TextOf(UpstreamAnswer answer, JsonElement raw, RequestApi api)
    {
        if (api == RequestApi.Embeddings)
        {
            return "";
        }

        if (api != RequestApi.Responses)
        {
            return answer.Choices is [{ } choice, ..] ? choice.TextOf() : ""; // an upstream's [null] is no text
        }

        if (answer.Type == "response.output_text.delta")
        {
            return answer.Delta is { ValueKind: JsonValueKind.String } delta ? delta.GetString()! : "";
        }

        if (answer.Type is not null || !raw.TryGetProperty("output", out var output) || output.ValueKind != JsonValueKind.Array)
        {
            return "";
        }

        var text = new System.Text.StringBuilder();
        foreach (var item in output.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var partText) && partText.ValueKind == JsonValueKind.String)
                    {
                        text.Append(partText.GetString());
                    }
                }
            }
        }

        return text.ToString();
    }

    /// <summary>The message of an error an answer or event reports (an <c>error</c> object, a Responses API <c>error</c> or <c>response.failed</c> event); null when none.</summary>
    private static string? ErrorOf(UpstreamAnswer answer)
    {
        if (answer.Type == "error")
        {
            return answer.Message ?? "error";
        }

        if (answer.Type == "response.failed")
        {
            return (answer.Response is { } failed ? ErrorOf(failed) : null) ?? "the response failed";
        }

        return answer.Error switch
        {
            { ValueKind: JsonValueKind.Object } error => error.TryGetProperty("message", out var message) ? message.ToString() : error.GetRawText(),
            { ValueKind: JsonValueKind.String } error => error.GetString(),
            _ => null,
        };
    }

    /// <summary>
    /// The message of an error answer: OpenAI's <c>error.message</c>, a problem's <c>detail</c>, or the text itself (cut
    /// short), from at most the error-body limit's bytes, with the configured key scrubbed out.
    /// </summary>
    private async Task<string> ErrorMessageAsync(HttpResponseMessage response, CancellationToken token)
    {
        var message = upstream.Scrub(await ReadErrorMessageAsync(response, token)); // scrubbed whole, then cut short
        return message.Length > 500 ? message[..500] : message;
    }

    private async Task<string> ReadErrorMessageAsync(HttpResponseMessage response, CancellationToken token)
    {
        string text;
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(token);
            var bytes = await UpstreamBody.ReadAtMostAsync(body, upstream.Limits.ErrorBytes, token);
            text = System.Text.Encoding.UTF8.GetString(bytes);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return response.ReasonPhrase ?? "no message";
        }

        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return text.Trim();
            }

            if (root.TryGetProperty("error", out var error))
            {
                return error.ValueKind == JsonValueKind.String ? error.GetString()!
                    : error.TryGetProperty("message", out var message) ? message.ToString() : error.ToString();
            }

            if (root.TryGetProperty("detail", out var detail))
            {
                return detail.ToString();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or a message that is not valid text (an escaped surrogate without its pair): the text as it came.
        }

        text = text.Trim();
        return text.Length == 0 ? response.ReasonPhrase ?? "no message" : text;
    }
}
