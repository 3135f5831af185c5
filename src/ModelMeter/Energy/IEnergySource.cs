namespace ModelMeter.Energy;

/// <summary>
/// Where a device's energy comes from: a meter (NVML's energy counter) or an estimate from its power when idle and busy.
/// Read by the device's allocator at each of its events, so that each interval's energy is shared by the requests that ran in it.
/// </summary>
public interface IEnergySource
{
    /// <summary>Whether the joules are an estimate (a power model) rather than a meter's reading.</summary>
    bool Estimated { get; }

    /// <summary>
    /// The joules the device used from <paramref name="from"/> to <paramref name="to"/> (the previous reading and now), never
    /// negative. <paramref name="busy"/>: whether requests ran throughout the interval (an estimate's power depends on it).
    /// </summary>
    double JoulesBetween(DateTimeOffset from, DateTimeOffset to, bool busy);
}
