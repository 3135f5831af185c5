namespace ModelMeter.Allocation;

/// <summary>A device's accounts at one moment, in US dollars since accounting began.</summary>
/// <param name="BillUsd">Device time × rate: what the provider bills.</param>
/// <param name="IdleUsd">The part of the bill during which no request was in flight.</param>
/// <param name="FinishedUsd">Shared-time cost of the requests that have ended.</param>
/// <param name="InFlightUsd">Shared-time cost so far of the requests still running.</param>
/// <param name="InFlight">Requests running now.</param>
/// <param name="RateVersion">The rate-card version in force now (-1 before the first rate).</param>
public readonly record struct DeviceAccount(
    double BillUsd, double IdleUsd, double FinishedUsd, double InFlightUsd, int InFlight, int RateVersion)
{
    /// <summary>The bill with its energy and carbon.</summary>
    public DeviceShare Bill { get; init; }

    /// <summary>The idle part with its energy and carbon.</summary>
    public DeviceShare Idle { get; init; }

    /// <summary>The ended requests' shares with their energy and carbon.</summary>
    public DeviceShare Finished { get; init; }

    /// <summary>The running requests' shares so far with their energy and carbon.</summary>
    public DeviceShare InFlightShare { get; init; }
}
