namespace ModelMeter.Pricing;

/// <summary>One entry of a device's rate card: from <see cref="From"/> on, the device costs <see cref="HourlyUsd"/> per hour.</summary>
/// <param name="From">When this rate takes effect (inclusive).</param>
/// <param name="HourlyUsd">US dollars per hour of device time; zero or more.</param>
public readonly record struct RatePeriod(DateTimeOffset From, double HourlyUsd);
