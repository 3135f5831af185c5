using Prometheus;

namespace ModelMeter.Metering;

/// <summary>The Prometheus instruments ModelMeter exports, created once in one registry.</summary>
public sealed class ModelMeterMetrics
{
    /// <summary>The classic setup's latency buckets, in seconds.</summary>
    public static readonly double[] DurationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Time-to-first-token buckets, in seconds.</summary>
    public static readonly double[] FirstTokenBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    /// <summary>Creates the Prometheus instruments in <paramref name="registry"/> (the process-wide default when null)
    /// and the OpenTelemetry GenAI histograms on <paramref name="meter"/> (a new <see cref="GenAiInstruments.MeterName"/> meter when null).</summary>
    public ModelMeterMetrics(CollectorRegistry? registry = null, System.Diagnostics.Metrics.Meter? meter = null)
    {
        GenAi = new GenAiInstruments(meter ?? new System.Diagnostics.Metrics.Meter(GenAiInstruments.MeterName));
        Registry = registry ?? Prometheus.Metrics.DefaultRegistry;
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = SampledTraceExemplar };
        Requests = factory.CreateCounter(MetricNames.Requests, "Requests served.", MetricNames.Model, MetricNames.Endpoint);
        Tokens = factory.CreateCounter(MetricNames.Tokens, "Tokens read (input) and generated (output); cached_input, cache_write and reasoning are parts of them, not added to them.", MetricNames.Model, MetricNames.Direction);
        RequestDuration = factory.CreateHistogram(MetricNames.RequestDuration, "Request latency in seconds, queueing included.",
            new HistogramConfiguration { LabelNames = [MetricNames.Model], Buckets = DurationBuckets });
        EstimatedCost = factory.CreateCounter(MetricNames.EstimatedCost, "Device cost attributed to the model's requests, US dollars.", MetricNames.Model);
        Errors = factory.CreateCounter(MetricNames.Errors, "Failed requests by reason.", MetricNames.Model, MetricNames.Endpoint, MetricNames.Reason);
        TimeToFirstToken = factory.CreateHistogram(MetricNames.TimeToFirstToken, "Seconds from request start to the first generated token.",
            new HistogramConfiguration { LabelNames = [MetricNames.Model], Buckets = FirstTokenBuckets });
        InFlight = factory.CreateGauge(MetricNames.InFlight, "Requests running on the model's device now.", MetricNames.Model);
        DeviceCost = factory.CreateCounter(MetricNames.DeviceCost, "The device bill: device time × hourly rate, US dollars.", MetricNames.Device);
        ReferencePrice = factory.CreateGauge(MetricNames.ReferencePrice, "What a reference API would charge for the model's tokens, US dollars per million, from configuration.", MetricNames.Model, MetricNames.Direction);
        BatchSize = factory.CreateHistogram(MetricNames.BatchSize, "Rows decoded together in one forward pass (continuous batching).",
            new HistogramConfiguration { LabelNames = [MetricNames.Model], Buckets = [1, 2, 4, 8, 16, 32, 64] });
        QueueWait = factory.CreateHistogram(MetricNames.QueueWait, "Seconds a request waited for its model before computing (not charged).",
            new HistogramConfiguration { LabelNames = [MetricNames.Model], Buckets = FirstTokenBuckets });
        BatchRows = factory.CreateGauge(MetricNames.BatchRows, "Rows in the model's running batch now (continuous batching).", MetricNames.Model);
        BatchRowsWithoutOwner = factory.CreateCounter(MetricNames.BatchRowsWithoutOwner,
            "Row-steps decoded for a row whose request had already ended before the step began; always 0 unless a row leaks.", MetricNames.Model);
        TurnWait = factory.CreateCounter(MetricNames.TurnWait,
            "Seconds the model's turns (prefill chunks and a decode step, or one token's step unbatched) waited for other ONNX models' turns on its device.", MetricNames.Model);
        LedgerRowsDropped = factory.CreateCounter(MetricNames.LedgerRowsDropped, "Ledger rows given up (the store failed until they could no longer be kept), by kind (request, idle).", "kind");
        LedgerShipLag = factory.CreateGauge(MetricNames.LedgerShipLag, "Age of the oldest ledger row committed here and not yet in the fleet ledger, seconds (0 when all are shipped).");
        LedgerShipFailures = factory.CreateCounter(MetricNames.LedgerShipFailures, "Shipments to the fleet ledger that failed (tried again later).");
        DeviceLoadScrapeFailures = factory.CreateCounter(MetricNames.DeviceLoadScrapeFailures,
            "Readings of a shared device server's load that failed (unreachable, answer without the metric), by device; those seconds count no unmetered load.", MetricNames.Device);
        LedgerRowsShipped = factory.CreateCounter(MetricNames.LedgerRowsShipped, "Ledger rows shipped to the fleet ledger, by kind (request, idle).", "kind");
        TenantCost = factory.CreateCounter(MetricNames.TenantCost, "Device cost attributed to a configured tenant's requests, US dollars.", MetricNames.Model, MetricNames.Tenant);
        BudgetSpent = factory.CreateGauge(MetricNames.BudgetSpent, "Spent in the budget's current period, US dollars.", MetricNames.Budget);
        BudgetLimit = factory.CreateGauge(MetricNames.BudgetLimit, "The budget's limit per period, US dollars.", MetricNames.Budget);
        BudgetStoreUnavailable = factory.CreateCounter(MetricNames.BudgetStoreUnavailable, "Budget admissions or settlements the shared budget store (Redis) could not answer, by operation (admit, settle).", "operation");
        DeviceIdleCost = factory.CreateCounter(MetricNames.DeviceIdleCost, "Part of the device bill with no request in flight, US dollars.", MetricNames.Device);
        ModelEnergy = factory.CreateCounter(MetricNames.ModelEnergy, "The device energy attributed to the model's requests (shared like cost), joules.", MetricNames.Model);
        ModelCo2e = factory.CreateCounter(MetricNames.ModelCo2e, "The carbon of the model's energy, grams of CO2e.", MetricNames.Model);
        DeviceEnergy = factory.CreateCounter(MetricNames.DeviceEnergy, "The device's energy, from NVML or estimated from its idle and busy power, joules.", MetricNames.Device);
        DeviceIdleEnergy = factory.CreateCounter(MetricNames.DeviceIdleEnergy, "Part of the device's energy with no request in flight, joules.", MetricNames.Device);
        DeviceCo2e = factory.CreateCounter(MetricNames.DeviceCo2e, "The carbon of the device's energy at the grid's intensity, grams of CO2e.", MetricNames.Device);
    }

    /// <summary>
    /// The exemplar of an observation: the trace and span of a request that a tracer samples (its activity is recorded),
    /// else none. prometheus-net's default takes every current activity, and ASP.NET Core starts one for each request even
    /// where nothing collects traces; building and storing that exemplar cost about 200 ns an observation (measured), for
    /// a trace that exists nowhere. ModelMeter's own /metrics is Prometheus text, which carries no exemplars; a host that
    /// serves the registry as OpenMetrics and samples traces gets them.
    /// </summary>
    private static Exemplar SampledTraceExemplar(Collector metric, double value) =>
        System.Diagnostics.Activity.Current is { Recorded: true } ? Exemplar.FromTraceContext() : Exemplar.None;

    /// <summary>Joules given to a model's requests, by model.</summary>
    public Counter ModelEnergy { get; }

    /// <summary>Grams of CO2e of a model's requests, by model.</summary>
    public Counter ModelCo2e { get; }

    /// <summary>A device's energy, joules, by device.</summary>
    public Counter DeviceEnergy { get; }

    /// <summary>A device's idle energy, joules, by device.</summary>
    public Counter DeviceIdleEnergy { get; }

    /// <summary>A device's carbon, grams of CO2e, by device.</summary>
    public Counter DeviceCo2e { get; }

    /// <summary>The registry the instruments live in.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>The OpenTelemetry GenAI histograms.</summary>
    public GenAiInstruments GenAi { get; }

    /// <summary>Requests served, by model and endpoint.</summary>
    public Counter Requests { get; }

    /// <summary>Tokens, by model and direction.</summary>
    public Counter Tokens { get; }

    /// <summary>Request latency, by model.</summary>
    public Histogram RequestDuration { get; }

    /// <summary>Cost of each model's requests.</summary>
    public Counter EstimatedCost { get; }

    /// <summary>Failed requests, by model, endpoint and reason.</summary>
    public Counter Errors { get; }

    /// <summary>Time to first token, by model.</summary>
    public Histogram TimeToFirstToken { get; }

    /// <summary>Requests running, by model.</summary>
    public Gauge InFlight { get; }

    /// <summary>The device bill, by device.</summary>
    public Counter DeviceCost { get; }

    /// <summary>Idle part of the device bill, by device.</summary>
    public Counter DeviceIdleCost { get; }

    /// <summary>Cost per model and configured tenant.</summary>
    public Counter TenantCost { get; }

    /// <summary>Spent per budget in its current period.</summary>
    public Gauge BudgetSpent { get; }

    /// <summary>Limit per budget.</summary>
    public Gauge BudgetLimit { get; }

    /// <summary>Budget-store calls that could not be answered, by operation.</summary>
    public Counter BudgetStoreUnavailable { get; }

    /// <summary>Rows per batched decode step, per model.</summary>
    public Histogram BatchSize { get; }

    /// <summary>Rows in each model's running batch.</summary>
    public Gauge BatchRows { get; }

    /// <summary>Row-steps computed for no one: a row whose request had ended (stop string, client gone) before the step began.</summary>
    public Counter BatchRowsWithoutOwner { get; }

    /// <summary>Seconds each ONNX model's turns waited for other models' turns on its device.</summary>
    public Counter TurnWait { get; }

    /// <summary>Seconds from a request's arrival to its start on the device, per model.</summary>
    public Histogram QueueWait { get; }

    /// <summary>Ledger rows given up, by kind: none should be, and each one is logged.</summary>
    public Counter LedgerRowsDropped { get; }

    /// <summary>Age of the oldest row not yet shipped, seconds.</summary>
    public Gauge LedgerShipLag { get; }

    /// <summary>Failed shipments.</summary>
    public Counter LedgerShipFailures { get; }

    /// <summary>Failed readings of a shared device server's load, by device.</summary>
    public Counter DeviceLoadScrapeFailures { get; }

    /// <summary>Rows shipped, by kind.</summary>
    public Counter LedgerRowsShipped { get; }

    /// <summary>Configured reference API prices, for comparing self-hosting with an API.</summary>
    public Gauge ReferencePrice { get; }
}
