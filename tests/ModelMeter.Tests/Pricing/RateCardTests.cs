using ModelMeter.Pricing;

namespace ModelMeter.Tests.Pricing;

public sealed class RateCardTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void CostUsd_AcrossRateChange_SumsEachPeriod()
    {
        var card = new RateCard([new RatePeriod(T0, 3.6), new RatePeriod(T0.AddHours(1), 7.2)]);

        // 30 min at 3.60/h + 30 min at 7.20/h
        Assert.Equal(1.8 + 3.6, card.CostUsd(T0.AddMinutes(30), T0.AddMinutes(90)), 12);
    }

    [Fact]
    public void CostUsd_BeforeFirstPeriod_IsFree()
    {
        var card = new RateCard([new RatePeriod(T0, 3.6)]);

        Assert.Equal(0, card.CostUsd(T0.AddHours(-2), T0));
        Assert.Equal(-1, card.VersionAt(T0.AddSeconds(-1)));
        Assert.Equal(0, card.VersionAt(T0));
    }

    [Fact]
    public void VersionAt_HourlyPeriodsForAYear_FindsThePeriodInForce()
    {
        var card = new RateCard(Enumerable.Range(0, 24 * 365).Select(h => new RatePeriod(T0.AddHours(h), h)));

        Assert.Equal(-1, card.VersionAt(DateTimeOffset.MinValue));
        Assert.Equal(-1, card.VersionAt(T0.AddTicks(-1)));
        foreach (var hour in new[] { 0, 1, 2, 4379, 4380, 8758, 8759 })
        {
            Assert.Equal(hour, card.VersionAt(T0.AddHours(hour)));
            Assert.Equal(hour, card.VersionAt(T0.AddHours(hour + 1).AddTicks(-1)));
        }

        Assert.Equal(8759, card.VersionAt(DateTimeOffset.MaxValue));
        Assert.Equal(3, card.HourlyUsdOf(card.VersionAt(T0.AddMinutes(200))));
    }

    [Fact]
    public void Constructor_NegativeRate_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new RateCard([new RatePeriod(T0, -1)]));

    [Fact]
    public void Constructor_TwoRatesAtOnce_Throws() =>
        Assert.Throws<ArgumentException>(() => new RateCard([new RatePeriod(T0, 1), new RatePeriod(T0, 2)]));

    [Fact]
    public void Constructor_NoPeriods_Throws() =>
        Assert.Contains("at least one period", Assert.Throws<ArgumentException>(() => new RateCard([])).Message);

    [Fact]
    public void Constructor_AFreeDevice_IsAllowed() =>
        Assert.Equal(0, new RateCard([new RatePeriod(T0, 0)]).CostUsd(T0, T0.AddHours(1)));

    [Fact]
    public void Constructor_Errors_NameTheProblem()
    {
        Assert.Contains("finite", Assert.Throws<ArgumentOutOfRangeException>(() => new RateCard([new RatePeriod(T0, double.NaN)])).Message);
        Assert.Contains("Two rates start at", Assert.Throws<ArgumentException>(() => new RateCard([new RatePeriod(T0, 1), new RatePeriod(T0, 2)])).Message);
    }

    [Fact]
    public void TokenPrice_ChargesEachDirectionAtItsPricePerMillion()
    {
        var price = new TokenPrice(InputPerMillionUsd: 3, OutputPerMillionUsd: 15);

        Assert.Equal(3e-6 * 2000 + 15e-6 * 400, price.CostUsd(2000, 400), 15);
    }
}
