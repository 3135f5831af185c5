namespace ModelMeter.Pricing;

/// <summary>A paid API's price: US dollars per million input and output tokens.</summary>
/// <param name="InputPerMillionUsd">US dollars per million prompt tokens.</param>
/// <param name="OutputPerMillionUsd">US dollars per million generated tokens.</param>
public sealed record TokenPrice(double InputPerMillionUsd, double OutputPerMillionUsd)
{
    /// <summary>What <paramref name="inputTokens"/> and <paramref name="outputTokens"/> cost, US dollars.</summary>
    public double CostUsd(long inputTokens, long outputTokens) =>
        (inputTokens * InputPerMillionUsd + outputTokens * OutputPerMillionUsd) / 1_000_000;
}
