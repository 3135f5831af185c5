namespace ModelMeter.Allocation;

/// <summary>What <see cref="AllocationGroup.Start"/> hands a request, to be given back to <see cref="AllocationGroup.End(AllocationTicket)"/>.</summary>
/// <param name="Snapshot">The group's per-member sums when the request started: dollars, joules, grams.</param>
/// <param name="StartedTicks">When the request started using the device, UTC ticks (kept small: one lives in every metered request).</param>
/// <param name="RateVersion">The rate-card version then (the index of the rate in force).</param>
internal readonly record struct AllocationTicket(DeviceShare Snapshot, long StartedTicks, int RateVersion)
{
    /// <summary>When the request started using the device.</summary>
    public DateTimeOffset Started => new(StartedTicks, TimeSpan.Zero);
}
