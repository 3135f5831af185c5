using ModelMeter.Allocation;
using ModelMeter.Pricing;
using Prometheus;

namespace ModelMeter.Metering;

/// <summary>One model's device (or token price) and its metric series, looked up once so the hot path does no label lookups.</summary>
internal sealed class ModelInstruments
{
    public ModelInstruments(string model, DeviceAllocator? device, TokenPrice? price, IEnumerable<string> endpoints, IEnumerable<string> tenants, ModelMeterMetrics metrics)
    {
        Model = model;
        Device = device;
        Group = device?.GroupFor(model);
        Price = price;
        Metrics = metrics;
        Requests = endpoints.ToDictionary(e => e, e => metrics.Requests.WithLabels(model, e));

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

    public IReadOnlyDictionary<string, Counter.Child> Requests { get; }

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

    /// <summary>Cost by tenant, only for the tenants named in configuration.</summary>
    public IReadOnlyDictionary<string, Counter.Child> TenantCost { get; }
}
