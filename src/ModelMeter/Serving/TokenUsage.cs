using ModelMeter.Pricing;

namespace ModelMeter.Serving;

/// <summary>Token counts of a whole request.</summary>
/// <param name="InputTokens">Prompt tokens (cached ones included).</param>
/// <param name="OutputTokens">Generated tokens (reasoning ones included).</param>
/// <param name="Estimated">True when counted by ModelMeter (a tokenizer or a rough rule) because the backend gave no counts.</param>
public sealed record TokenUsage(int InputTokens, int OutputTokens, bool Estimated = false)
{
    /// <summary>The cached, cache-written and reasoning parts of the counts, as a paid API reported them (zero from a model run here).</summary>
    public TokenDetails Details { get; init; }
}
