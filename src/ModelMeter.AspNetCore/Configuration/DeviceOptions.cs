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
