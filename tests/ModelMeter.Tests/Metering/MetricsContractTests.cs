using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Tests.Metering;

/// <summary>
/// What dashboards and alerts rely on: every series ModelMeter exports has its documented name and a help text,
/// the series exist from the start (so rate() sees the first increase), a scrape brings the bill up to now, and the
/// counters continue from the ledger after a restart.
/// </summary>
public sealed class MetricsContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly ModelMeterMetrics _metrics;
    private readonly CostMeter _meter;

    public MetricsContractTests()
    {
        _metrics = new ModelMeterMetrics(_registry, new Meter(GenAiInstruments.MeterName));
        _meter = new CostMeter(
            [new DeviceAllocator("gpu0", RateCard.Flat(3600), _time)], new Dictionary<string, string> { ["a"] = "gpu0" }, ["generate", "chat"],
            _metrics, _time, tenants: ["acme"], modelPrices: new Dictionary<string, TokenPrice> { ["api"] = new(1, 2) });
    }

    [Fact]
    public async Task EveryMetricName_IsExportedWithAHelpText()
    {
        TouchEverySeries();

        var text = await ScrapeAsync();
        var names = typeof(MetricNames).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (string)f.GetValue(null)!)
            .Where(n => n.Contains('_') && n != MetricNames.GpuUtilization && n != MetricNames.Model) // label names and the GPU monitor's own metric aside
            .ToArray();

        Assert.True(names.Length >= 22, $"only {names.Length} metric names found");
        foreach (var name in names)
        {
            var help = text.Split('\n').SingleOrDefault(l => l.StartsWith($"# HELP {name} ", StringComparison.Ordinal));
            Assert.True(help is not null && help.Length > $"# HELP {name} ".Length + 3, $"{name} has no help text in:\n{text}");
        }
    }

    [Fact]
    public async Task Series_ExistAtZeroBeforeTheFirstRequest()
    {
        var text = await ScrapeAsync();

        Assert.Contains("device_cost_dollars_total{device=\"gpu0\"} 0", text);
        Assert.Contains("device_idle_cost_dollars_total{device=\"gpu0\"} 0", text);
        Assert.Contains("model_request_errors_total{model_name=\"a\",endpoint=\"chat\",reason=\"internal\"} 0", text);
        Assert.Contains("model_request_errors_total{model_name=\"api\",endpoint=\"generate\",reason=\"upstream_auth\"} 0", text);
        Assert.Contains("model_request_total{model_name=\"api\",endpoint=\"chat\"} 0", text);
        Assert.Contains("model_tenant_cost_dollars_total{model_name=\"a\",tenant=\"acme\"} 0", text);
    }

    [Fact]
    public async Task Scrape_BringsTheDeviceBillUpToNow()
    {
        _time.Advance(TimeSpan.FromSeconds(5));

        var text = await ScrapeAsync();

        Assert.Contains("device_cost_dollars_total{device=\"gpu0\"} 5", text);
        Assert.Contains("device_idle_cost_dollars_total{device=\"gpu0\"} 5", text);
    }

    [Fact]
    public async Task BatchSize_HasPowerOfTwoBucketsUpTo64()
    {
        _metrics.BatchSize.WithLabels("a").Observe(3);

        var text = await ScrapeAsync();

        foreach (var le in new[] { "1", "2", "4", "8", "16", "32", "64" })
        {
            Assert.Contains($"model_batch_size_bucket{{model_name=\"a\",le=\"{le}\"}}", text);
        }
    }

    [Fact]
    public void Seed_CountersContinueFromTheLedger_AndTheBillFromItsRecordedFigure()
    {
        var totals = new LedgerTotals(
            CostUsdByModel: new Dictionary<string, double> { ["a"] = 7.5 },
            ServedByModelEndpoint: new Dictionary<(string, string), long> { [("a", "chat")] = 4 },
            TokensByModel: new Dictionary<(string, string), long> { [("a", "input")] = 40, [("a", "output")] = 90 },
            CostUsdByModelTenant: new Dictionary<(string, string), double> { [("a", "acme")] = 2.5 },
            IdleUsdByDevice: new Dictionary<string, double> { ["gpu0"] = 3 },
            RequestCostUsdByDevice: new Dictionary<string, double> { ["gpu0"] = 7.5 },
            BillUsdByDevice: new Dictionary<string, double> { ["gpu0"] = 9 }); // Latency method: requests overlap, the bill is less

        _meter.Seed(totals);

        Assert.Equal(7.5, _metrics.EstimatedCost.WithLabels("a").Value);
        Assert.Equal(4, _metrics.Requests.WithLabels("a", "chat").Value);
        Assert.Equal((40.0, 90.0), (_metrics.Tokens.WithLabels("a", "input").Value, _metrics.Tokens.WithLabels("a", "output").Value));
        Assert.Equal(2.5, _metrics.TenantCost.WithLabels("a", "acme").Value);
        Assert.Equal((9.0, 3.0), (_metrics.DeviceCost.WithLabels("gpu0").Value, _metrics.DeviceIdleCost.WithLabels("gpu0").Value));
    }

    [Fact]
    public void Seed_LedgerWithoutRecordedBills_BillIsRequestsPlusIdle()
    {
        var totals = new LedgerTotals(
            new Dictionary<string, double>(), new Dictionary<(string, string), long>(), new Dictionary<(string, string), long>(),
            new Dictionary<(string, string), double>(), new Dictionary<string, double> { ["gpu0"] = 3 }, new Dictionary<string, double> { ["gpu0"] = 7.5 });

        _meter.Seed(totals);

        Assert.Equal(10.5, _metrics.DeviceCost.WithLabels("gpu0").Value);
    }

    [Fact]
    public void KnownModelsAndEndpoints_AreTheConfiguredOnes_AndUnknownOnesAreNamedInTheError()
    {
        Assert.True(_meter.IsKnownEndpoint("a", "chat"));
        Assert.True(_meter.IsKnownEndpoint("api", "generate"));
        Assert.False(_meter.IsKnownEndpoint("a", "custom"));
        Assert.False(_meter.IsKnownEndpoint("zzz", "chat"));
        Assert.Contains("zzz", Assert.Throws<ArgumentException>(() => _meter.Begin("zzz", "chat")).Message);
        Assert.Contains("custom", Assert.Throws<ArgumentException>(() => _meter.Begin("a", "custom")).Message);
        Assert.Equal(new TokenPrice(1, 2), _meter.PriceOf("api"));
        Assert.Null(_meter.PriceOf("a"));
    }

    [Fact]
    public void Constructor_ModelOnAnUnknownDevice_NamesBoth()
    {
        var error = Assert.Throws<ArgumentException>(() => new CostMeter(
            [new DeviceAllocator("gpu0", RateCard.Flat(1), _time)], new Dictionary<string, string> { ["m"] = "gpu9" }, ["generate"],
            new ModelMeterMetrics(Metrics.NewCustomRegistry()), _time));

        Assert.Contains("m", error.Message);
        Assert.Contains("gpu9", error.Message);
    }

    [Fact]
    public void Reject_KnownModel_CountsTheReason()
    {
        _meter.Reject("a", "chat", ErrorReason.RateLimited);

        Assert.Equal(1, _metrics.Errors.WithLabels("a", "chat", ErrorReason.RateLimited).Value);
    }

    [Fact]
    public void GenAiInstruments_FollowTheSemanticConventions()
    {
        using var meter = new Meter("semconv-test");
        var instruments = new GenAiInstruments(meter);

        Assert.Equal(("gen_ai.server.request.duration", "s"), (instruments.RequestDuration.Name, instruments.RequestDuration.Unit));
        Assert.Equal(("gen_ai.server.time_to_first_token", "s"), (instruments.TimeToFirstToken.Name, instruments.TimeToFirstToken.Unit));
        Assert.Equal(("gen_ai.client.token.usage", "{token}"), (instruments.TokenUsage.Name, instruments.TokenUsage.Unit));
        Assert.All([instruments.RequestDuration.Description, instruments.TimeToFirstToken.Description, instruments.TokenUsage.Description], d => Assert.False(string.IsNullOrWhiteSpace(d)));
        // The buckets the conventions advise (a collector uses them unless told otherwise).
        Assert.Equal(81.92, instruments.RequestDuration.Advice!.HistogramBucketBoundaries!.Last());
        Assert.Equal(10.0, instruments.TimeToFirstToken.Advice!.HistogramBucketBoundaries!.Last());
        Assert.Equal(67108864, instruments.TokenUsage.Advice!.HistogramBucketBoundaries!.Last());
    }

    [Fact]
    public void GenAi_FailedRequest_CarriesItsErrorType_AServedOneNone()
    {
        var durations = new List<Dictionary<string, object?>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, _metrics.GenAi.RequestDuration))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) => durations.Add(tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.Start();

        _meter.Begin("a", "generate").Complete();
        _meter.Begin("a", "generate").Fail(ErrorReason.ClientClosed);

        Assert.Equal(2, durations.Count);
        Assert.All(durations, tags => Assert.Equal("text_completion", tags["gen_ai.operation.name"]));
        Assert.False(durations[0].ContainsKey("error.type"));
        Assert.Equal(ErrorReason.ClientClosed, durations[1]["error.type"]);
    }

    private void TouchEverySeries()
    {
        var request = _meter.Begin("a", "generate");
        request.StartOnDevice();
        request.TokensSoFar(1);
        request.Complete();
        _metrics.ReferencePrice.WithLabels("a", "input").Set(1);
        _metrics.BatchSize.WithLabels("a").Observe(1);
        _metrics.QueueWait.WithLabels("a").Observe(0);
        _metrics.BatchRows.WithLabels("a").Set(0);
        _metrics.BatchRowsWithoutOwner.WithLabels("a").IncTo(0);
        _metrics.LedgerRowsDropped.WithLabels("idle").IncTo(0);
        _metrics.LedgerShipLag.Set(0);
        _metrics.DeviceLoadScrapeFailures.WithLabels("gpu0").Inc(0);
        _metrics.LedgerShipFailures.IncTo(0);
        _metrics.LedgerRowsShipped.WithLabels("request").IncTo(0);
        _metrics.BudgetSpent.WithLabels("b").Set(0);
        _metrics.BudgetLimit.WithLabels("b").Set(1);
        _metrics.BudgetStoreUnavailable.WithLabels("admit").IncTo(0);
    }

    [Fact]
    public async Task Exemplars_OnlyForARequestWhoseTraceIsSampled()
    {
        // ASP.NET Core starts an activity for every request, whether or not anything collects traces.
        using (new Activity("unsampled").Start())
        {
            Serve();
        }

        Assert.DoesNotContain("trace_id", await ScrapeAsync(ExpositionFormat.OpenMetricsText));

        using var source = new ActivitySource("ModelMeter.Tests.Tracer");
        using var tracer = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(tracer);
        string traceId;
        using (var sampled = source.StartActivity("request")!)
        {
            traceId = sampled.TraceId.ToString();
            Serve();
        }

        var text = await ScrapeAsync(ExpositionFormat.OpenMetricsText);
        Assert.Contains(text.Split('\n'), l => l.StartsWith($"{MetricNames.RequestDuration}_bucket", StringComparison.Ordinal) && l.Contains($"trace_id=\"{traceId}\"", StringComparison.Ordinal));
        Assert.Contains(text.Split('\n'), l => l.StartsWith($"{MetricNames.TimeToFirstToken}_bucket", StringComparison.Ordinal) && l.Contains($"trace_id=\"{traceId}\"", StringComparison.Ordinal));
        Assert.DoesNotContain("trace_id", await ScrapeAsync()); // Prometheus text (what /metrics answers curl) has none

        void Serve()
        {
            var request = _meter.Begin("a", "generate");
            request.StartOnDevice();
            _time.Advance(TimeSpan.FromMilliseconds(30));
            request.TokensSoFar(1);
            request.Complete();
        }
    }

    private async Task<string> ScrapeAsync(ExpositionFormat format = ExpositionFormat.PrometheusText)
    {
        using var stream = new MemoryStream();
        await _registry.CollectAndExportAsTextAsync(stream, format);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
