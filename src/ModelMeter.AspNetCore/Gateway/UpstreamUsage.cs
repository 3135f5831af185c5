using System.Text.Json;
using ModelMeter.Pricing;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>
/// An upstream's <c>usage</c> is input: its counts are checked like a client's body before anything is charged for them.
/// Missing, negative or unreadable counts are counted here instead; output is at least the chunks delivered and at most
/// the client's token limit; input is at most what the request's bytes could make, plus what an upstream adds of its own;
/// cached and written tokens are at most the input, reasoning tokens at most the output. Any correction marks the row estimated.
/// </summary>
internal static class UpstreamUsage
{
    /// <summary>Tokens a chat template may add per message (role markers and separators), on top of the text's bytes.</summary>
    private const int TemplateTokensPerMessage = 16;

    /// <summary>Tokens an upstream may add to any request of its own: a system prompt it configures, tool and format instructions.</summary>
    private const int UpstreamTokensPerRequest = 4096;

    /// <summary>Tokens one image, audio clip or file may count for: their tokens do not follow from the bytes of a URL.</summary>
    private const int TokensPerMediaPart = 32_768;

    /// <summary>
    /// The counts in an upstream's <c>usage</c> object, each null where absent, not a whole number, or out of range. Reads
    /// the chat and completions names (<c>prompt_tokens</c>, <c>completion_tokens</c>, <c>prompt_tokens_details.cached_tokens</c>
    /// and <c>cache_write_tokens</c>, <c>completion_tokens_details.reasoning_tokens</c>), the Responses API's
    /// (<c>input_tokens</c>, <c>output_tokens</c> and their <c>_details</c>), and DeepSeek's <c>prompt_cache_hit_tokens</c>.
    /// </summary>
    public static ReportedUsage Read(JsonElement? usage)
    {
        if (usage is not { ValueKind: JsonValueKind.Object } u)
        {
            return default;
        }

        var promptDetails = Object(u, "prompt_tokens_details") ?? Object(u, "input_tokens_details");
        var outputDetails = Object(u, "completion_tokens_details") ?? Object(u, "output_tokens_details");
        return new ReportedUsage(
            Count(u, "prompt_tokens") ?? Count(u, "input_tokens"),
            Count(u, "completion_tokens") ?? Count(u, "output_tokens"),
            Count(promptDetails, "cached_tokens") ?? Count(u, "prompt_cache_hit_tokens"),
            Count(promptDetails, "cache_write_tokens"),
            Count(outputDetails, "reasoning_tokens"));
    }

    /// <summary>
    /// The counts to charge: <paramref name="reported"/> where it is plausible, else <paramref name="estimate"/>d, clamped to
    /// [<paramref name="delivered"/>, the client's token limit] for output (none for embeddings) and to the request's bound
    /// for input; its details within the counts they are part of.
    /// </summary>
    /// <param name="reported">The upstream's counts (null when it gave none, or its answer was cut off).</param>
    /// <param name="request">What was sent: the prompt, the API, the client's fields.</param>
    /// <param name="prompt">The prompt sent.</param>
    /// <param name="delivered">Chunks of text passed on to the client: each is at least one token.</param>
    /// <param name="estimate">Counts made here when the upstream's cannot be used.</param>
    public static TokenUsage Check(ReportedUsage? reported, GenerationRequest request, Prompt prompt, int delivered, Func<TokenUsage> estimate)
    {
        var counts = reported ?? default;
        var (input, output) = (counts.Input, counts.Output);
        var estimated = false;
        TokenUsage? fallback = null;
        TokenUsage Fallback() => fallback ??= estimate();
        var maxInput = MaxInputTokens(prompt, request.ClientFields);
        if (input is not { } i || i < 0)
        {
            (input, estimated) = (Math.Min(Fallback().InputTokens, maxInput), true);
        }
        else if (i > maxInput)
        {
            (input, estimated) = (maxInput, true);
        }

        if (request.Api == RequestApi.Embeddings)
        {
            // Nothing is generated: an embedding's output count, whatever the upstream says, is 0.
            output = 0;
        }
        else if (output is not { } o || o < 0)
        {
            (output, estimated) = (Math.Max(Fallback().OutputTokens, delivered), true);
        }
        else if (o < delivered)
        {
            (output, estimated) = (delivered, true);
        }

        if (output > request.MaxTokens)
        {
            (output, estimated) = (request.MaxTokens, true);
        }

        // Parts not reported (or negative) are 0; parts larger than their whole are cut to it, and that marks the row.
        var reportedDetails = new TokenDetails(Math.Max(0, counts.CachedInput ?? 0), Math.Max(0, counts.CacheWrite ?? 0), Math.Max(0, counts.Reasoning ?? 0));
        var details = reportedDetails.Within(input!.Value, output!.Value);
        return new TokenUsage((int)input.Value, (int)output.Value, estimated || details != reportedDetails) { Details = details };
    }

    /// <summary>
    /// The most input tokens a request can be charged: one per byte of what was sent (every field of a forwarded body: messages,
    /// tools, schemas), a template's tokens per message, what an upstream adds of its own, and an allowance per image, audio or file.
    /// </summary>
    internal static long MaxInputTokens(Prompt prompt, IReadOnlyDictionary<string, JsonElement>? fields)
    {
        long bytes = 0, media = 0;
        if (fields is null)
        {
            bytes = System.Text.Encoding.UTF8.GetByteCount(prompt.AllText());
        }
        else
        {
            foreach (var (name, value) in fields)
            {
                bytes += System.Text.Encoding.UTF8.GetByteCount(name) + System.Text.Encoding.UTF8.GetByteCount(value.GetRawText());
                media += MediaParts(value);
            }
        }

        var bound = bytes + (long)TemplateTokensPerMessage * ((prompt.Messages?.Count ?? 0) + 1) + UpstreamTokensPerRequest + TokensPerMediaPart * media;
        return Math.Min(int.MaxValue, bound);
    }

    /// <summary>Content parts whose tokens do not follow from their bytes: objects whose <c>type</c> names an image, audio, video or file.</summary>
    private static long MediaParts(JsonElement value)
    {
        long count = 0;
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                if (value.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                    && type.GetString() is { } name && (name.Contains("image", StringComparison.Ordinal) || name.Contains("audio", StringComparison.Ordinal)
                        || name.Contains("video", StringComparison.Ordinal) || name.Contains("file", StringComparison.Ordinal)))
                {
                    count++;
                }

                foreach (var property in value.EnumerateObject())
                {
                    count += MediaParts(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    count += MediaParts(item);
                }

                break;
        }

        return count;
    }

    private static JsonElement? Object(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static long? Count(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) ? count : null;
}

/// <summary>An upstream's counts as it reported them: null where it gave none (or one that is not a whole number).</summary>
internal readonly record struct ReportedUsage(long? Input, long? Output, long? CachedInput = null, long? CacheWrite = null, long? Reasoning = null);
