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

    /// <summary>
    /// One physical device behind several replicas (several gateways in front of one vLLM server): billed once for the
    /// fleet and split over every replica's requests when the fleet ledger settles each minute. Needs
    /// <c>Ledger:Provider</c> = <c>ClickHouse</c>. Default false: each replica bills the device as its own.
    /// </summary>
    public bool Shared { get; set; }

    /// <summary>A shared device's server's own count of requests running, read about once a second, to find load nobody metered.</summary>
    public DeviceLoadOptions Load { get; set; } = new();

    /// <summary>Where the device's energy comes from, and the carbon intensity of its grid.</summary>
    public DeviceEnergyOptions Energy { get; set; } = new();

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

/// <summary>A device's energy (<c>Devices:NAME:Energy</c>).</summary>
public sealed class DeviceEnergyOptions
{
    /// <summary>Watts of a CPU with nothing running, when estimated: a rough figure for a few server cores.</summary>
    public const double CpuIdleWatts = 10;

    /// <summary>Watts of a CPU while requests run, when estimated.</summary>
    public const double CpuBusyWatts = 60;

    /// <summary>Watts of a GPU with nothing running, when estimated (NVML unavailable): a rough figure for a data-centre GPU.</summary>
    public const double GpuIdleWatts = 60;

    /// <summary>Watts of a GPU while requests run, when estimated.</summary>
    public const double GpuBusyWatts = 300;

    /// <summary>The grid's intensity when none is configured: the world average, about 475 g CO2e per kWh (IEA).</summary>
    public const double DefaultGridGramsPerKwh = 475;

    /// <summary>
    /// <c>Nvml</c> (a GPU's energy counter, or its power integrated where the counter is unsupported), <c>Estimate</c>
    /// (<see cref="IdleWatts"/> while nothing runs, <see cref="BusyWatts"/> while something does) or <c>None</c>. Default:
    /// <c>Nvml</c> for a GPU where NVML answers, else <c>Estimate</c>.
    /// </summary>
    public string? Source { get; set; }

    /// <summary>Watts with nothing running, for an estimate. Default 10 for a CPU, 60 for a GPU.</summary>
    public double? IdleWatts { get; set; }

    /// <summary>Watts while requests run, for an estimate. Default 60 for a CPU, 300 for a GPU.</summary>
    public double? BusyWatts { get; set; }

    /// <summary>Grams of CO2e per kWh of the device's grid, in force since forever unless <see cref="Grid"/> says otherwise. Default 475 (world average).</summary>
    public double? GridGramsPerKwh { get; set; }

    /// <summary>Effective-dated grid intensities; each applies from its <c>From</c> until the next.</summary>
    public List<GridPeriodOptions> Grid { get; set; } = [];

    internal Energy.GridIntensity ToGridIntensity()
    {
        var periods = Grid.Select(g => (g.From, g.GramsPerKwh)).ToList();
        if (GridGramsPerKwh is { } flat || periods.Count == 0)
        {
            periods.Add((DateTimeOffset.MinValue, GridGramsPerKwh ?? DefaultGridGramsPerKwh));
        }

        return new Energy.GridIntensity(periods);
    }
}

/// <summary>One effective-dated grid intensity.</summary>
public sealed class GridPeriodOptions
{
    /// <summary>When it takes effect (ISO 8601).</summary>
    public DateTimeOffset From { get; set; }

    /// <summary>Grams of CO2e per kWh.</summary>
    public double GramsPerKwh { get; set; }
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

/// <summary>Where a shared device's server says how many requests it runs (<c>Devices:NAME:Load</c>).</summary>
public sealed class DeviceLoadOptions
{
    /// <summary>The server's Prometheus endpoint, e.g. <c>http://vllm:8000/metrics</c>. None: no load readings (nothing is unmetered).</summary>
    public string? MetricsUrl { get; set; }

    /// <summary>
    /// The gauge of requests running, summed over its series: <c>vllm:num_requests_running</c> (vLLM),
    /// <c>tgi_batch_current_size</c> (TGI), <c>model_inflight_requests</c> (ModelMeter).
    /// </summary>
    public string? Metric { get; set; }

    /// <summary>Milliseconds between readings. Default 1000.</summary>
    public int IntervalMs { get; set; } = 1000;
}
