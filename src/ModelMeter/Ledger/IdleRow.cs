namespace ModelMeter.Ledger;

/// <summary>Device cost with no request in flight (and the whole bill), for one device and one minute.</summary>
/// <param name="Device">The device.</param>
/// <param name="Minute">The start of the minute (UTC).</param>
/// <param name="CostUsd">Idle cost accrued in that minute, US dollars.</param>
/// <param name="HourlyUsd">The device rate then, US dollars per hour.</param>
public sealed record IdleRow(string Device, DateTimeOffset Minute, double CostUsd, double HourlyUsd)
{
    /// <summary>
    /// The device's whole bill in that minute, busy time included, US dollars; null when unknown (rows written before
    /// schema v6). With the Latency method request costs overlap, so the bill cannot be rebuilt from them after a restart.
    /// </summary>
    public double? BillUsd { get; init; }

    /// <summary>The device's energy with nothing running in that minute, joules (0 where none is counted).</summary>
    public double EnergyJoules { get; init; }

    /// <summary>The carbon of that idle energy, grams of CO2e.</summary>
    public double Co2eGrams { get; init; }

    /// <summary>The device's whole energy in that minute, busy time included, joules.</summary>
    public double BillJoules { get; init; }

    /// <summary>The carbon of the whole energy in that minute, grams of CO2e.</summary>
    public double BillCo2eGrams { get; init; }
}
