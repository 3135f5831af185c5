using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Metering;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Tests.Metering;

public sealed class CostMeterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly System.Diagnostics.Metrics.Meter _genAiMeter = new(GenAiInstruments.MeterName);
    private readonly ModelMeterMetrics _metrics;
    private readonly CostMeter _meter;

    public CostMeterTests()
    {
        _metrics = new ModelMeterMetrics(Metrics.NewCustomRegistry(), _genAiMeter);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(3600), _time);
        _meter = new CostMeter([device], new Dictionary<string, string> { ["a"] = "gpu0", ["b"] = "gpu0" }, ["generate"], _metrics, _time);
    }

    [Fact]
    public void Complete_ServedRequest_CountsTokensLatencyAndCost()
    {
        var request = _meter.Begin("a", "generate");
        _time.Advance(TimeSpan.FromSeconds(1)); // queued
        request.InputTokens = 7;
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(0.5));
        request.TokensSoFar(1);
        _time.Advance(TimeSpan.FromSeconds(1.5));
        request.TokensSoFar(2);

        var charge = request.Complete();

        Assert.Equal(2, charge.CostUsd, 9);
        Assert.Equal(3, charge.LatencySeconds, 9);
        Assert.Equal(1.5, charge.TimeToFirstTokenSeconds!.Value, 9);
        _meter.PublishDeviceAccounts(); // what a scrape does first: served requests, tokens, cost and in flight are published then
        Assert.Equal(1, _metrics.Requests.WithLabels("a", "generate").Value);
        Assert.Equal(7, _metrics.Tokens.WithLabels("a", "input").Value);
        Assert.Equal(2, _metrics.Tokens.WithLabels("a", "output").Value);
        Assert.Equal(2, _metrics.EstimatedCost.WithLabels("a").Value, 9);
        Assert.Equal(0, _metrics.InFlight.WithLabels("a").Value);
    }

    [Fact]
    public void ModelsOn_CountsTheConfiguredModelsOfEachDevice()
    {
        var (shared, own) = (new DeviceAllocator("cpu", RateCard.Flat(1), _time), new DeviceAllocator("cpu2", RateCard.Flat(1), _time));
        var meter = new CostMeter([shared, own], new Dictionary<string, string> { ["a"] = "cpu", ["b"] = "cpu", ["c"] = "cpu2" }, ["generate"], _metrics, _time);

        Assert.Equal(2, meter.ModelsOn(shared));
        Assert.Equal(1, meter.ModelsOn(own));
        Assert.Equal(2, meter.ModelsOn(meter.GroupOf("b")!.Device));
    }

    [Fact]
    public void LatencyMethod_TheModelsCostSeries_IsWhatItsRequestsWereCharged_NotTheirSharedTime()
    {
        var device = new DeviceAllocator("gpu1", RateCard.Flat(3600), _time, AllocationMethod.Latency);
        var meter = new CostMeter([device], new Dictionary<string, string> { ["c"] = "gpu1" }, ["generate"], _metrics, _time);
        var (a, b) = (meter.Begin("c", "generate"), meter.Begin("c", "generate"));
        a.StartOnDevice();
        b.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(4));

        var charged = a.Complete().CostUsd + b.Complete().CostUsd;
        meter.PublishDeviceAccounts();

        Assert.Equal(8, charged, 9); // each its own latency × rate: the same 4 s twice
        Assert.Equal(charged, _metrics.EstimatedCost.WithLabels("c").Value, 9); // as the ledger rows say, not the 4 s of shared time
    }

    [Fact]
    public void Fail_ClientClosedAfterUsingDevice_ChargesDeviceTimeAndCountsError()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(4));

        var charge = request.Fail(ErrorReason.ClientClosed);

        Assert.Equal(4, charge.CostUsd, 9);
        _meter.PublishDeviceAccounts();
        Assert.Equal(4, _metrics.EstimatedCost.WithLabels("a").Value, 9);
        Assert.Equal(0, _metrics.Requests.WithLabels("a", "generate").Value);
        Assert.Equal(1, _metrics.Errors.WithLabels("a", "generate", ErrorReason.ClientClosed).Value);
    }

    [Fact]
    public void PublishDeviceAccounts_TwoModelsShareDevice_ModelCostsPlusIdleEqualBill()
    {
        _time.Advance(TimeSpan.FromSeconds(3));
        var a = _meter.Begin("a", "generate");
        a.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(2));
        var b = _meter.Begin("b", "generate");
        b.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(2));
        a.Complete();
        _time.Advance(TimeSpan.FromSeconds(1));
        b.Complete();
        _time.Advance(TimeSpan.FromSeconds(5));

        _meter.PublishDeviceAccounts();

        var bill = _metrics.DeviceCost.WithLabels("gpu0").Value;
        var idle = _metrics.DeviceIdleCost.WithLabels("gpu0").Value;
        Assert.Equal(13, bill, 9);
        Assert.Equal(8, idle, 9);
        _meter.PublishDeviceAccounts();
        Assert.Equal(3, _metrics.EstimatedCost.WithLabels("a").Value, 9);
        Assert.Equal(2, _metrics.EstimatedCost.WithLabels("b").Value, 9);
    }

    [Fact]
    public void Reject_UnknownModel_CreatesNoSeries()
    {
        _meter.Reject("not-a-model", "generate", ErrorReason.BadRequest);

        Assert.DoesNotContain(_metrics.Errors.GetAllLabelValues(), labels => labels.Contains("not-a-model"));
        Assert.Throws<ArgumentException>(() => _meter.Begin("not-a-model", "generate"));
    }

    [Fact]
    public void Complete_WithOpenTelemetryListener_RecordsGenAiHistograms()
    {
        var recorded = new List<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _genAiMeter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => recorded.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => recorded.Add((i.Name, v, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        var request = _meter.Begin("a", "generate");
        request.InputTokens = 9;
        request.StartOnDevice();
        _time.Advance(TimeSpan.FromSeconds(0.25));
        request.TokensSoFar(1);
        _time.Advance(TimeSpan.FromSeconds(0.75));
        request.TokensSoFar(2);
        request.Complete();

        Assert.Contains(recorded, r => r.Name == "gen_ai.server.request.duration" && r.Value == 1.0 && (string?)r.Tags["gen_ai.request.model"] == "a");
        Assert.Contains(recorded, r => r.Name == "gen_ai.server.time_to_first_token" && r.Value == 0.25);
        Assert.Contains(recorded, r => r.Name == "gen_ai.client.token.usage" && r.Value == 9 && (string?)r.Tags["gen_ai.token.type"] == "input");
        Assert.Contains(recorded, r => r.Name == "gen_ai.client.token.usage" && r.Value == 2 && (string?)r.Tags["gen_ai.token.type"] == "output");
    }

    [Fact]
    public void Complete_Twice_Throws()
    {
        var request = _meter.Begin("a", "generate");
        request.Complete();

        Assert.Throws<InvalidOperationException>(() => request.Complete());
    }
}
