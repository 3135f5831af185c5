using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using ModelMeter.Allocation;
using ModelMeter.Energy;
using ModelMeter.Metering;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Benchmarks;

/// <summary>The metering hot path of one request: begin, start on device, 32 tokens, complete (allocator with energy and carbon, counters, histograms).</summary>
[MemoryDiagnoser]
public class MeteringBenchmarks
{
    private CostMeter _meter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry());
        // As the server configures a device by default: its energy estimated from idle and busy watts, at a flat grid intensity.
        var device = new DeviceAllocator("gpu0", RateCard.Flat(2.5), TimeProvider.System, energy: new EstimatedPower(60, 300), grid: GridIntensity.Flat(475));
        _meter = new CostMeter([device], new Dictionary<string, string> { ["demo-small"] = "gpu0" }, ["generate"], metrics, TimeProvider.System);
    }

    /// <summary>
    /// As the server meters a request once Prometheus has scraped it: prometheus-net's meter adapter listens (kept off
    /// ModelMeter's GenAI meter, as the server configures it), and ASP.NET Core's activity for the request is current
    /// (it starts one per request even where no tracer samples it).
    /// </summary>
    [GlobalSetup(Target = nameof(MeterOneRequestAsServed))]
    public void SetupAsServed()
    {
        Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate = GenAiInstruments.IsNotGenAi);
        Metrics.DefaultRegistry.CollectAndExportAsTextAsync(Stream.Null).GetAwaiter().GetResult(); // the first scrape starts the adapter
        Setup();
        _activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start();
    }

    [GlobalCleanup(Target = nameof(MeterOneRequestAsServed))]
    public void StopActivity() => _activity?.Stop();

    private Activity? _activity;

    [Benchmark]
    public double MeterOneRequestAsServed() => MeterOneRequest();

    [Benchmark]
    public double MeterOneRequest()
    {
        var request = _meter.Begin("demo-small", "generate");
        request.InputTokens = 12;
        request.StartOnDevice();
        for (var i = 0; i < 32; i++)
        {
            request.TokensSoFar(i + 1);
        }

        return request.Complete().CostUsd;
    }

    [Benchmark]
    public double AllocatorStartEnd()
    {
        var device = _meter.Devices[0];
        return device.End(device.Start()).Usd;
    }
}
