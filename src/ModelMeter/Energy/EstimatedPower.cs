namespace ModelMeter.Energy;

/// <summary>A device's energy estimated from two figures: its power with nothing running, and with requests running.</summary>
/// <param name="IdleWatts">Power with no request running, watts.</param>
/// <param name="BusyWatts">Power while requests run, watts.</param>
public sealed record EstimatedPower(double IdleWatts, double BusyWatts) : IEnergySource
{
    /// <inheritdoc />
    public bool Estimated => true;

    /// <inheritdoc />
    public double JoulesBetween(DateTimeOffset from, DateTimeOffset to, bool busy) =>
        to > from ? (busy ? BusyWatts : IdleWatts) * (to - from).Ticks * SecondsPerTick : 0;

    private const double SecondsPerTick = 1.0 / TimeSpan.TicksPerSecond;
}
