namespace ModelMeter.Pricing;

/// <summary>
/// The kinds of token counts: the <c>direction</c> label's values on <c>model_tokens_total</c> and the keys of the ledger's
/// totals. <c>input</c> and <c>output</c> count every token once; the others count parts of them (sum input and output
/// only, never every direction).
/// </summary>
public static class TokenDirections
{
    /// <summary>Prompt tokens.</summary>
    public const string Input = "input";

    /// <summary>Generated tokens.</summary>
    public const string Output = "output";

    /// <summary>Prompt tokens a paid API read from its cache (part of input).</summary>
    public const string CachedInput = "cached_input";

    /// <summary>Prompt tokens a paid API wrote to its cache (part of input).</summary>
    public const string CacheWrite = "cache_write";

    /// <summary>Generated tokens spent on reasoning (part of output).</summary>
    public const string Reasoning = "reasoning";
}
