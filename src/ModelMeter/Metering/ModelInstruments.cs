using System.Collections.Frozen;
using ModelMeter.Allocation;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Metering;

/// <summary>One model's device (or token price) and its metric series, looked up once so the hot path does no label lookups.</summary>
internal sealed class ModelInstruments
{
    public ModelInstruments(string model, DeviceAllocator? device, TokenPrice? price, IEnumerable<string> endpoints, IEnumerable<string> tenants, ModelMeterMetrics metrics, TimeProvider time)
    {
        Model = model;
        Time = time;
        Device = device;
        Group = device?.GroupFor(model);
        Price = price;
        Metrics = metrics;
        Requests = endpoints.ToFrozenDictionary(e => e, e => new EndpointSeries(e, metrics.Requests.WithLabels(model, e)), StringComparer.Ordinal);

        // Error series start at zero, so rate() sees the first error as an increase, not as a new series.
        foreach (var endpoint in endpoints)
        {
            foreach (var reason in ErrorReason.All)
            {
                metrics.Errors.WithLabels(model, endpoint, reason);
            }
        }

        InputTokens = metrics.Tokens.WithLabels(model, TokenDirections.Input);
        OutputTokens = metrics.Tokens.WithLabels(model, TokenDirections.Output);
        CachedInputTokens = metrics.Tokens.WithLabels(model, TokenDirections.CachedInput);
        CacheWriteTokens = metrics.Tokens.WithLabels(model, TokenDirections.CacheWrite);
        ReasoningTokens = metrics.Tokens.WithLabels(model, TokenDirections.Reasoning);
        Duration = metrics.RequestDuration.WithLabels(model);
        Cost = metrics.EstimatedCost.WithLabels(model);
        Energy = metrics.ModelEnergy.WithLabels(model);
        Co2e = metrics.ModelCo2e.WithLabels(model);
        FirstToken = metrics.TimeToFirstToken.WithLabels(model);
        QueueWait = metrics.QueueWait.WithLabels(model);
        InFlight = metrics.InFlight.WithLabels(model);
        TenantCost = tenants.ToDictionary(t => t, t => metrics.TenantCost.WithLabels(model, t), StringComparer.Ordinal);
    }

    public string Model { get; }

    /// <summary>The device whose time the model shares, or null for a model priced per token.</summary>
    public DeviceAllocator? Device { get; }

    /// <summary>The model's requests on its device, for the work split; null for a model priced per token.</summary>
    public AllocationGroup? Group { get; }

    /// <summary>The price per token of a paid-API model, or null for a model on a device.</summary>
    public TokenPrice? Price { get; }

    public ModelMeterMetrics Metrics { get; }

    /// <summary>The clock of the model's requests.</summary>
    public TimeProvider Time { get; }

    public IReadOnlyDictionary<string, EndpointSeries> Requests { get; }

    public Histogram.Child QueueWait { get; }

    public Counter.Child InputTokens { get; }

    public Counter.Child OutputTokens { get; }

    /// <summary>Input tokens read from a paid API's cache: a part of <see cref="InputTokens"/>.</summary>
    public Counter.Child CachedInputTokens { get; }

    /// <summary>Input tokens written to a paid API's cache: a part of <see cref="InputTokens"/>.</summary>
    public Counter.Child CacheWriteTokens { get; }

    /// <summary>Output tokens spent on reasoning: a part of <see cref="OutputTokens"/>.</summary>
    public Counter.Child ReasoningTokens { get; }

    public Histogram.Child Duration { get; }

    public Counter.Child Cost { get; }

    /// <summary>Joules of the device's energy the model's requests were given.</summary>
    public Counter.Child Energy { get; }

    /// <summary>Grams of CO2e of that energy.</summary>
    public Counter.Child Co2e { get; }

    public Histogram.Child FirstToken { get; }

    public Gauge.Child InFlight { get; }

    /// <summary>Input and output tokens counted here since start (published to the counters when they are collected).</summary>
    internal long InputTotal;

    internal long OutputTotal;

    /// <summary>Requests of a model priced per token in flight (a device model's are its group's members).</summary>
    internal int PricedInFlight;

    /// <summary>What the ledger held of earlier runs: the counters continue from there.</summary>
    internal (double Usd, double Joules, double Grams, long Input, long Output) Seeded;

    /// <summary>
    /// Brings the per-request series kept in plain fields up to date: in flight, tokens and, for a device model, its cost,
    /// energy and carbon (summed by the device's allocator under the lock it takes anyway). Called before each collection,
    /// so the hot path pays no Prometheus update for them.
    /// </summary>
    public void Publish()
    {
        foreach (var endpoint in Requests.Values)
        {
            endpoint.Publish();
        }

        InputTokens.IncTo(Seeded.Input + Interlocked.Read(ref InputTotal));
        OutputTokens.IncTo(Seeded.Output + Interlocked.Read(ref OutputTotal));
        if (Group is null)
        {
            InFlight.Set(Volatile.Read(ref PricedInFlight));
            return;
        }

        var (inFlight, ended) = Group.Totals();
        InFlight.Set(inFlight);
        Cost.IncTo(Seeded.Usd + ended.Usd);
        Energy.IncTo(Seeded.Joules + ended.Joules);
        Co2e.IncTo(Seeded.Grams + ended.Co2eGrams);
    }

    /// <summary>Cost by tenant, only for the tenants named in configuration.</summary>
    public IReadOnlyDictionary<string, Counter.Child> TenantCost { get; }
}

/// <summary>An endpoint label value and the model's served-requests counter for it.</summary>
internal sealed record EndpointSeries(string Endpoint, Counter.Child Requests)
{
    /// <summary>Requests served since start, published to <see cref="Requests"/> on collection (with what it was seeded with).</summary>
    internal long Served;

    internal double Seeded;

    public void Publish() => Requests.IncTo(Seeded + Interlocked.Read(ref Served));
}
