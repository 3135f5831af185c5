using System.Text.Json;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>
/// An upstream's <c>usage</c> is input: its counts are checked like a client's body before anything is charged for them.
/// Missing, negative or unreadable counts are counted here instead; output is at least the chunks delivered and at most
/// the client's token limit; input is at most what the prompt's bytes could make. Any correction marks the row estimated.
/// </summary>
internal static class UpstreamUsage
{
    /// <summary>Tokens a chat template may add per message (role markers and separators), on top of the text's bytes.</summary>
    private const int TemplateTokensPerMessage = 16;

    /// <summary>The counts in an upstream's <c>usage</c> object: null where absent, not a whole number, or out of range.</summary>
    public static (long? Input, long? Output) Read(JsonElement? usage) =>
        usage is { ValueKind: JsonValueKind.Object } u ? (Count(u, "prompt_tokens"), Count(u, "completion_tokens")) : (null, null);

    /// <summary>
    /// The counts to charge: <paramref name="reported"/> where it is plausible, else <paramref name="estimate"/>d, clamped to
    /// [<paramref name="delivered"/>, <paramref name="maxTokens"/>] for output and to the prompt's bound for input.
    /// </summary>
    /// <param name="reported">The upstream's counts (null when it gave none).</param>
    /// <param name="prompt">The prompt sent.</param>
    /// <param name="delivered">Chunks of text passed on to the client: each is at least one token.</param>
    /// <param name="maxTokens">The most tokens the client allowed.</param>
    /// <param name="estimate">Counts made here when the upstream's cannot be used.</param>
    public static TokenUsage Check((long? Input, long? Output)? reported, Prompt prompt, int delivered, int maxTokens, Func<TokenUsage> estimate)
    {
        var (input, output) = reported ?? (null, null);
        var estimated = false;
        TokenUsage? fallback = null;
        TokenUsage Fallback() => fallback ??= estimate();

        if (input is not { } i || i < 0)
        {
            (input, estimated) = (Fallback().InputTokens, true);
        }
        else if (i > MaxInputTokens(prompt))
        {
            (input, estimated) = (MaxInputTokens(prompt), true);
        }

        if (output is not { } o || o < 0)
        {
            (output, estimated) = (Math.Max(Fallback().OutputTokens, delivered), true);
        }
        else if (o < delivered)
        {
            (output, estimated) = (delivered, true);
        }

        if (output > maxTokens)
        {
            (output, estimated) = (maxTokens, true);
        }

        return new TokenUsage((int)input!.Value, (int)output!.Value, estimated);
    }

    /// <summary>A byte-level tokenizer makes at most one token per UTF-8 byte; a chat template adds a few per message.</summary>
    internal static long MaxInputTokens(Prompt prompt) =>
        Math.Min(int.MaxValue, System.Text.Encoding.UTF8.GetByteCount(prompt.AllText()) + (long)TemplateTokensPerMessage * ((prompt.Messages?.Count ?? 0) + 1));

    private static long? Count(JsonElement usage, string name) =>
        usage.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) ? count : null;
}
