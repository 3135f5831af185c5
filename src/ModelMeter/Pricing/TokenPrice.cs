namespace ModelMeter.Pricing;

/// <summary>
/// A paid API's price: US dollars per million input and output tokens, and optionally per million prompt tokens read from
/// or written to the provider's cache. A cache price left out charges those tokens at the input price.
/// </summary>
/// <param name="InputPerMillionUsd">US dollars per million prompt tokens.</param>
/// <param name="OutputPerMillionUsd">US dollars per million generated tokens (reasoning tokens included).</param>
/// <param name="CachedInputPerMillionUsd">US dollars per million prompt tokens read from the cache; null: the input price.</param>
/// <param name="CacheWritePerMillionUsd">US dollars per million prompt tokens written to the cache; null: the input price.</param>
public sealed record TokenPrice(double InputPerMillionUsd, double OutputPerMillionUsd, double? CachedInputPerMillionUsd = null, double? CacheWritePerMillionUsd = null)
{
    /// <summary>
    /// What <paramref name="inputTokens"/> (of which <paramref name="details"/>' cached and written tokens) and
    /// <paramref name="outputTokens"/> (reasoning included) cost, US dollars.
    /// </summary>
    public double CostUsd(long inputTokens, long outputTokens, TokenDetails details = default)
    {
        var (cached, written, _) = details.Within(inputTokens, outputTokens);
        var plain = inputTokens - cached - written;
        return (plain * InputPerMillionUsd
            + cached * (CachedInputPerMillionUsd ?? InputPerMillionUsd)
            + written * (CacheWritePerMillionUsd ?? InputPerMillionUsd)
            + outputTokens * OutputPerMillionUsd) / 1_000_000;
    }
}
