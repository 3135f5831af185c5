using ModelMeter.Pricing;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>A device that costs money per hour.</summary>
public sealed class DeviceOptions
{
    /// <summary>What the device is. Default <see cref="DeviceKind.Cpu"/>.</summary>
    public DeviceKind Kind { get; set; } = DeviceKind.Cpu;

    /// <summary>For a GPU: its NVML index, read for <c>gpu_utilization_percent</c> and friends. Default 0.</summary>
    public int GpuIndex { get; set; }

    /// <summary>US dollars per hour, in force since forever unless <see cref="Rates"/> says otherwise.</summary>
    public double? HourlyUsd { get; set; }

    /// <summary>Effective-dated rates, for price changes; each applies from its <c>From</c> until the next.</summary>
    public List<RatePeriodOptions> Rates { get; set; } = [];

    internal RateCard ToRateCard()
    {
        var periods = Rates.Select(r => new RatePeriod(r.From, r.HourlyUsd)).ToList();
        if (HourlyUsd is { } flat)
        {
            periods.Add(new RatePeriod(DateTimeOffset.MinValue, flat));
        }

        return new RateCard(periods);
    }
}

/// <summary>What kind of device.</summary>
public enum DeviceKind
{
    /// <summary>The instance's CPU share.</summary>
    Cpu,

    /// <summary>A GPU.</summary>
    Gpu,
}

/// <summary>One effective-dated rate.</summary>
public sealed class RatePeriodOptions
{
    /// <summary>When the rate takes effect (ISO 8601).</summary>
    public DateTimeOffset From { get; set; }

    /// <summary>US dollars per hour.</summary>
    public double HourlyUsd { get; set; }
}
