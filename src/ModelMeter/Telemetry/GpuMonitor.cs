using ModelMeter.Metering;
using Prometheus;

namespace ModelMeter.Telemetry;

/// <summary>
/// Publishes GPU memory use, compute utilization and power from NVML at each scrape, for the configured
/// GPU devices. Where NVML or the GPU is missing nothing is published: the series are absent, never zero.
/// </summary>
public sealed class GpuMonitor
{
    private readonly (string Device, IntPtr Handle)[] _gpus;
    private readonly Gauge? _memory;
    private readonly Gauge? _compute;
    private readonly Gauge? _power;
    private bool _hasMemoryV2 = true;

    /// <param name="gpus">Device name → NVML index, for the devices that are GPUs.</param>
    /// <param name="registry">Where the gauges go.</param>
    public GpuMonitor(IReadOnlyDictionary<string, int> gpus, CollectorRegistry registry)
    {
        _gpus = gpus.Count == 0 ? [] : Open(gpus);
        if (_gpus.Length == 0)
        {
            return;
        }

        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _memory = factory.CreateGauge(MetricNames.GpuUtilization, "GPU memory in use, percent of total (NVML).", MetricNames.Device);
        _compute = factory.CreateGauge("gpu_compute_utilization_percent", "Share of the last sample period a kernel ran, percent (NVML).", MetricNames.Device);
        _power = factory.CreateGauge("gpu_power_watts", "Power drawn by the GPU, watts (NVML).", MetricNames.Device);
        registry.AddBeforeCollectCallback(Publish);
    }

    /// <summary>How many configured GPUs NVML answered for.</summary>
    public int Available => _gpus.Length;

    /// <summary>What NVML says now about each configured GPU it answered for (a figure it did not give is null).</summary>
    public IReadOnlyList<GpuReading> Read() => [.. _gpus.Select(g => new GpuReading(
        g.Device,
        MemoryPercent(g.Handle),
        Nvml.UtilizationRates(g.Handle, out var utilization) == 0 ? (double?)utilization.Gpu : null,
        Nvml.PowerUsage(g.Handle, out var milliwatts) == 0 ? (double?)(milliwatts / 1000.0) : null))];

    private void Publish()
    {
        foreach (var reading in Read())
        {
            if (reading.MemoryPercent is { } memory)
            {
                _memory!.WithLabels(reading.Device).Set(memory);
            }

            if (reading.ComputePercent is { } compute)
            {
                _compute!.WithLabels(reading.Device).Set(compute);
            }

            if (reading.PowerWatts is { } watts)
            {
                _power!.WithLabels(reading.Device).Set(watts);
            }
        }
    }

    /// <summary>
    /// Memory in use, percent, as nvidia-smi shows it: <c>nvmlDeviceGetMemoryInfo_v2</c> (which leaves out driver-reserved
    /// memory; v1 read 0.43 % on an idle H200 that nvidia-smi showed at 0 MiB), falling back to v1 on older drivers.
    /// </summary>
    private double? MemoryPercent(IntPtr handle)
    {
        if (_hasMemoryV2)
        {
            try
            {
                var v2 = new Nvml.MemoryV2 { Version = Nvml.MemoryV2.StructVersion };
                if (Nvml.MemoryInfoV2(handle, ref v2) == 0 && v2.Total > 0)
                {
                    return 100.0 * v2.Used / v2.Total;
                }
            }
            catch (EntryPointNotFoundException)
            {
                _hasMemoryV2 = false;
            }
        }

        return Nvml.MemoryInfo(handle, out var memory) == 0 && memory.Total > 0 ? 100.0 * memory.Used / memory.Total : null;
    }

    private static (string, IntPtr)[] Open(IReadOnlyDictionary<string, int> gpus)
    {
        try
        {
            if (Nvml.Init() != 0 || Nvml.DeviceCount(out var count) != 0)
            {
                return [];
            }

            return gpus
                .Where(g => g.Value >= 0 && g.Value < count)
                .Select(g => (g.Key, Handle: Nvml.DeviceHandle((uint)g.Value, out var handle) == 0 ? handle : IntPtr.Zero))
                .Where(g => g.Handle != IntPtr.Zero)
                .ToArray();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return [];
        }
    }
}

/// <summary>One GPU's figures at one moment.</summary>
/// <param name="Device">The configured device name.</param>
/// <param name="MemoryPercent">Memory in use, percent of total.</param>
/// <param name="ComputePercent">Share of the last sample period a kernel ran, percent.</param>
/// <param name="PowerWatts">Power drawn, watts.</param>
public sealed record GpuReading(string Device, double? MemoryPercent, double? ComputePercent, double? PowerWatts);
