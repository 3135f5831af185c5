using System.Text.Json;

namespace ModelMeter.Serving;

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">Most tokens to generate, at least 1.</param>
/// <param name="Temperature">0 picks the most likely token; above 0 samples with this temperature; null leaves it to the backend (OpenAI's default is 1).</param>
/// <param name="TopP">Nucleus sampling: sample only from the most likely tokens whose probabilities add up to this (0, 1]; null for the backend's default (1).</param>
/// <param name="Seed">Makes sampling repeatable; null draws a fresh seed.</param>
public sealed record GenerationRequest(int MaxTokens, double? Temperature = null, double? TopP = null, int? Seed = null)
{
    /// <summary>Strings that end the generation when produced (not included in the text); forwarded by gateway backends.</summary>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>The end user, as the client named it; forwarded by gateway backends.</summary>
    public string? User { get; init; }

    /// <summary>The caller wants chunks as they come (a stream); without it a backend may answer in one chunk.</summary>
    public bool Stream { get; init; }

    /// <summary>The client named the limit <c>max_completion_tokens</c> (newer chat API) rather than <c>max_tokens</c>.</summary>
    public bool UsesMaxCompletionTokens { get; init; }

    /// <summary>The API the request came through (completions, embeddings, responses); only gateways forward the last two.</summary>
    public RequestApi Api { get; init; }

    /// <summary>
    /// The client's request body as it was sent (its top-level fields, known to ModelMeter or not), for a backend that
    /// forwards it whole (a gateway); null on routes without one (<c>/v1/generate</c>, library scopes).
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement>? ClientFields { get; init; }
}
