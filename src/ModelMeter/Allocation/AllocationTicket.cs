namespace ModelMeter.Allocation;

/// <summary>What <see cref="AllocationGroup.Start"/> hands a request, to be given back to <see cref="AllocationGroup.End"/>.</summary>
/// <param name="Snapshot">The device's running per-request sums when the request started: dollars, joules, grams.</param>
/// <param name="Started">When the request started using the device.</param>
/// <param name="HourlyUsd">The device's rate when the request started, US dollars per hour.</param>
/// <param name="RateVersion">The rate-card version then (the index of the rate in force).</param>
internal readonly record struct AllocationTicket(DeviceShare Snapshot, DateTimeOffset Started, double HourlyUsd, int RateVersion);
