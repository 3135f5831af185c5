namespace ModelMeter.Pricing;

/// <summary>
/// The parts of a request's tokens that a paid API prices or reports apart: prompt tokens read from its cache, prompt
/// tokens written to it, and output tokens spent on reasoning. Each is a subset of the input or output count it belongs
/// to (as OpenAI reports them), never added to it.
/// </summary>
/// <param name="CachedInput">Prompt tokens served from the provider's cache (<c>prompt_tokens_details.cached_tokens</c>).</param>
/// <param name="CacheWrite">Prompt tokens written to the provider's cache, for providers that charge for writes.</param>
/// <param name="Reasoning">Output tokens spent on reasoning (<c>completion_tokens_details.reasoning_tokens</c>); billed as output.</param>
public readonly record struct TokenDetails(long CachedInput, long CacheWrite, long Reasoning)
{
    /// <summary>The sum of two groups' details.</summary>
    public TokenDetails Add(TokenDetails other) =>
        new(CachedInput + other.CachedInput, CacheWrite + other.CacheWrite, Reasoning + other.Reasoning);

    /// <summary>
    /// These details cut to the counts they are parts of: a negative part is 0, cached tokens at most <paramref name="inputTokens"/>,
    /// written tokens at most what is left of them, reasoning tokens at most <paramref name="outputTokens"/>.
    /// </summary>
    public TokenDetails Within(long inputTokens, long outputTokens)
    {
        var cached = Math.Clamp(CachedInput, 0, Math.Max(0, inputTokens));
        return new(cached, Math.Clamp(CacheWrite, 0, Math.Max(0, inputTokens - cached)), Math.Clamp(Reasoning, 0, Math.Max(0, outputTokens)));
    }

    /// <summary>Whether there is nothing to tell apart.</summary>
    public bool IsZero => CachedInput == 0 && CacheWrite == 0 && Reasoning == 0;
}
