namespace ModelMeter.Metering;

/// <summary>What a finished request cost.</summary>
/// <param name="CostUsd">Its share of its device's cost, US dollars.</param>
/// <param name="LatencySeconds">Seconds from arrival to end, queueing included.</param>
/// <param name="TimeToFirstTokenSeconds">Seconds to the first generated token, if any.</param>
/// <param name="StartedAt">When the request arrived.</param>
/// <param name="EndedAt">When it ended.</param>
/// <param name="HourlyUsd">The device rate when it started computing (0 if it never did).</param>
/// <param name="RateVersion">The device's rate-card version then (-1 if it never started).</param>
/// <param name="DeviceStartedAt">When it started using its device (after any queueing): the moment its rate is taken from; null if it never did.</param>
public readonly record struct RequestCharge(
    double CostUsd, double LatencySeconds, double? TimeToFirstTokenSeconds, DateTimeOffset StartedAt, DateTimeOffset EndedAt, double HourlyUsd, int RateVersion = -1,
    DateTimeOffset? DeviceStartedAt = null)
{
    /// <summary>Its share of its device's energy, joules (0 for a model priced per token, or a device without an energy source).</summary>
    public double EnergyJoules { get; init; }

    /// <summary>The carbon of that energy, grams of CO2e.</summary>
    public double Co2eGrams { get; init; }
}
