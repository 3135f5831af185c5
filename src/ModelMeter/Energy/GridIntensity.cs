using ModelMeter.Pricing;

namespace ModelMeter.Energy;

/// <summary>
/// Grams of CO2e per kWh of the grid a device draws from, effective-dated like rates: each figure applies from its start until
/// the next. Energy used at a moment is turned into carbon at the figure in force then.
/// </summary>
public sealed class GridIntensity
{
    private readonly RateCard _periods;

    /// <summary>Figures from their start times (a figure must be finite and not negative; two cannot start at once).</summary>
    public GridIntensity(IEnumerable<(DateTimeOffset From, double GramsPerKwh)> periods) =>
        _periods = new RateCard(periods.Select(p => new RatePeriod(p.From, p.GramsPerKwh)));

    /// <summary>One figure since the beginning of time.</summary>
    public static GridIntensity Flat(double gramsPerKwh) => new([(DateTimeOffset.MinValue, gramsPerKwh)]);

    /// <summary>Grams of CO2e per kWh at <paramref name="at"/> (0 before the first figure).</summary>
    public double GramsPerKwhAt(DateTimeOffset at) => _periods.HourlyUsdOf(_periods.VersionAt(at));

    /// <summary>Grams of CO2e of <paramref name="joules"/> used at <paramref name="at"/>.</summary>
    public double GramsOf(double joules, DateTimeOffset at) => joules * KwhPerJoule * GramsPerKwhAt(at);

    private const double KwhPerJoule = 1.0 / JoulesPerKwh;

    /// <summary>Joules in a kilowatt-hour.</summary>
    public const double JoulesPerKwh = 3_600_000;
}
