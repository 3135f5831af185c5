namespace ModelMeter.Ledger;

/// <summary>Device cost with no request in flight, for one device and one minute.</summary>
/// <param name="Device">The device.</param>
/// <param name="Minute">The start of the minute (UTC).</param>
/// <param name="CostUsd">Idle cost accrued in that minute, US dollars.</param>
/// <param name="HourlyUsd">The device rate then, US dollars per hour.</param>
public sealed record IdleRow(string Device, DateTimeOffset Minute, double CostUsd, double HourlyUsd);
