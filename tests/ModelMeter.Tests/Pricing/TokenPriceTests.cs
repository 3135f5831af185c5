using ModelMeter.Pricing;

namespace ModelMeter.Tests.Pricing;

public sealed class TokenPriceTests
{
    [Fact]
    public void CachedInput_ChargedAtTheCachePrice_TheRestAtTheInputPrice()
    {
        var price = new TokenPrice(3, 12, CachedInputPerMillionUsd: 0.3);

        // 1,200 input of which 1,000 cached, 300 output: 200 × 3 + 1,000 × 0.3 + 300 × 12 per million.
        Assert.Equal(0.0045, price.CostUsd(1200, 300, new TokenDetails(1000, 0, 0)), 12);
        Assert.Equal(0.0072, price.CostUsd(1200, 300), 12);
    }

    [Fact]
    public void CacheWrites_ChargedAtTheWritePrice_ReasoningAsOutput()
    {
        var price = new TokenPrice(3, 15, CachedInputPerMillionUsd: 0.3, CacheWritePerMillionUsd: 3.75);

        var cost = price.CostUsd(2000, 100, new TokenDetails(CachedInput: 500, CacheWrite: 1000, Reasoning: 60));

        Assert.Equal((500 * 3 + 500 * 0.3 + 1000 * 3.75 + 100 * 15) / 1e6, cost, 12);
    }

    [Fact]
    public void WithoutCachePrices_EveryInputTokenCostsTheInputPrice()
    {
        var price = new TokenPrice(3, 12);

        Assert.Equal(price.CostUsd(1200, 300), price.CostUsd(1200, 300, new TokenDetails(1000, 100, 50)), 15);
    }

    [Fact]
    public void DetailsLargerThanTheInput_AreCutToIt_NeverANegativeRemainder()
    {
        var price = new TokenPrice(3, 12, 0.3, 6);

        Assert.Equal(100 * 0.3 / 1e6, price.CostUsd(100, 0, new TokenDetails(500, 500, 0)), 15);
        Assert.Equal((60 * 0.3 + 40 * 6) / 1e6, price.CostUsd(100, 0, new TokenDetails(60, 500, 0)), 15);
    }
}
