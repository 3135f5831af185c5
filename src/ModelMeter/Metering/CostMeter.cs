using System.Collections.Frozen;
using ModelMeter.Allocation;
using ModelMeter.Pricing;

namespace ModelMeter.Metering;

/// <summary>
/// Meters requests: times them, counts their tokens, charges each its share of its device's cost
/// and keeps the Prometheus series. Knows only the configured models and endpoints, so no request
/// can create a series for a name outside them.
/// </summary>
public sealed class CostMeter
{
    private readonly FrozenDictionary<string, ModelInstruments> _models;
    private readonly DeviceAllocator[] _devices;
    private readonly ModelMeterMetrics _metrics;
    private readonly Dictionary<string, (DeviceShare Bill, DeviceShare Idle)> _carried = new(StringComparer.Ordinal);

    /// <param name="devices">One allocator per device.</param>
    /// <param name="modelDevices">Each model's device name.</param>
    /// <param name="endpoints">The endpoint label values in use (a bounded set).</param>
    /// <param name="metrics">Where the series live.</param>
    /// <param name="time">The clock for latency and time to first token.</param>
    /// <param name="tenants">Tenants that may appear as a metric label (those named in configuration).</param>
    /// <param name="modelPrices">Models priced per token (paid APIs), which use no device.</param>
    public CostMeter(IEnumerable<DeviceAllocator> devices, IReadOnlyDictionary<string, string> modelDevices,
        IReadOnlyCollection<string> endpoints, ModelMeterMetrics metrics, TimeProvider time, IReadOnlyCollection<string>? tenants = null,
        IReadOnlyDictionary<string, TokenPrice>? modelPrices = null)
    {
        _devices = devices.ToArray();
        var byName = _devices.ToDictionary(d => d.Device);
        var placed = modelDevices.Select(m => new ModelInstruments(
            m.Key, byName.TryGetValue(m.Value, out var d) ? d : throw new ArgumentException($"Model {m.Key} is placed on unknown device {m.Value}."), null, endpoints, tenants ?? [], metrics, time));
        var priced = (modelPrices ?? new Dictionary<string, TokenPrice>()).Select(m => new ModelInstruments(m.Key, null, m.Value, endpoints, tenants ?? [], metrics, time));
        _models = placed.Concat(priced).ToFrozenDictionary(m => m.Model);
        _metrics = metrics;
        Time = time;
        Refusals = new RefusalLog(time);
        foreach (var device in _devices)
        {
            metrics.DeviceCost.WithLabels(device.Device);
            metrics.DeviceIdleCost.WithLabels(device.Device);
            if (device.Energy is not null)
            {
                metrics.DeviceEnergy.WithLabels(device.Device);
                metrics.DeviceIdleEnergy.WithLabels(device.Device);
                metrics.DeviceCo2e.WithLabels(device.Device);
            }
        }

        foreach (var model in _models.Values)
        {
            model.Publish(); // every series exported from the start
        }

        metrics.Registry.AddBeforeCollectCallback(PublishDeviceAccounts);
    }

    internal TimeProvider Time { get; }

    /// <summary>The refusals of this process over time (requests that used no device and have no ledger row).</summary>
    public RefusalLog Refusals { get; }

    /// <summary>The devices being accounted.</summary>
    public IReadOnlyList<DeviceAllocator> Devices => _devices;

    /// <summary>Whether <paramref name="model"/> is configured.</summary>
    public bool IsKnown(string model) => _models.ContainsKey(model);

    /// <summary>Whether <paramref name="endpoint"/> is an endpoint label this model is metered under (a bounded set).</summary>
    public bool IsKnownEndpoint(string model, string endpoint) => _models.TryGetValue(model, out var found) && found.Requests.ContainsKey(endpoint);

    /// <summary>The token price of a model priced per token (a paid API), or null for a model on a device.</summary>
    public TokenPrice? PriceOf(string model) => _models.TryGetValue(model, out var found) ? found.Price : null;

    /// <summary>
    /// The group <paramref name="model"/>'s requests form on its device, where a batched backend reports its work so
    /// that the device's time is divided by work across models; null for a model priced per token or not configured.
    /// </summary>
    public AllocationGroup? GroupOf(string model) => _models.TryGetValue(model, out var found) ? found.Group : null;

    /// <summary>How many configured models run on <paramref name="device"/> (a backend that would tune itself for a device of its own asks).</summary>
    public int ModelsOn(DeviceAllocator device) => _models.Values.Count(m => m.Group?.Device == device);

    /// <summary>Starts metering a request to a configured model: its latency counts from now. It uses no device time until <see cref="MeteredRequest.StartOnDevice"/>.</summary>
    public MeteredRequest Begin(string model, string endpoint)
    {
        var instruments = _models.TryGetValue(model, out var found) ? found : throw new ArgumentException($"Unknown model {model}.", nameof(model));
        var series = instruments.Requests.TryGetValue(endpoint, out var known) ? known : throw new ArgumentException($"Unknown endpoint {endpoint}.", nameof(endpoint));
        return new MeteredRequest(instruments, series);
    }

    /// <summary>Counts a request to a configured model that failed before using its device: no cost.</summary>
    public void Reject(string model, string endpoint, string reason)
    {
        if (_models.ContainsKey(model))
        {
            _metrics.Errors.WithLabels(model, endpoint, reason).Inc();
            Refusals.Add(model, reason);
        }
    }

    /// <summary>
    /// Brings every device's bill and idle counters up to now (plus what earlier runs recorded, if seeded), and each model's
    /// in-flight gauge, token counters and device share counters to what its requests have reached. Runs before each
    /// collection of the registry; call it to read those series in process.
    /// </summary>
    public void PublishDeviceAccounts()
    {
        foreach (var model in _models.Values)
        {
            model.Publish();
        }

        foreach (var device in _devices)
        {
            var account = device.Snapshot();
            var (bill, idle) = _carried.GetValueOrDefault(device.Device);
            (bill, idle) = (bill + account.Bill, idle + account.Idle);
            _metrics.DeviceCost.WithLabels(device.Device).IncTo(bill.Usd);
            _metrics.DeviceIdleCost.WithLabels(device.Device).IncTo(idle.Usd);
            if (device.Energy is not null)
            {
                _metrics.DeviceEnergy.WithLabels(device.Device).IncTo(bill.Joules);
                _metrics.DeviceIdleEnergy.WithLabels(device.Device).IncTo(idle.Joules);
                _metrics.DeviceCo2e.WithLabels(device.Device).IncTo(bill.Co2eGrams);
            }
        }
    }

    /// <summary>
    /// Starts the counters from what the ledger holds of earlier runs, so they continue where the last
    /// process stopped instead of dropping to zero. Call once, before the first request.
    /// </summary>
    public void Seed(Ledger.LedgerTotals totals)
    {
        foreach (var (model, instruments) in _models)
        {
            var energy = totals.EnergyByModel?.GetValueOrDefault(model) ?? default;
            instruments.Seeded = (totals.CostUsdByModel.GetValueOrDefault(model), energy.Joules, energy.Co2eGrams,
                totals.TokensByModel.GetValueOrDefault((model, TokenDirections.Input)), totals.TokensByModel.GetValueOrDefault((model, TokenDirections.Output)));
            instruments.Cost.IncTo(instruments.Seeded.Usd);
            instruments.Energy.IncTo(energy.Joules);
            instruments.Co2e.IncTo(energy.Co2eGrams);
            instruments.CachedInputTokens.IncTo(totals.TokensByModel.GetValueOrDefault((model, TokenDirections.CachedInput)));
            instruments.CacheWriteTokens.IncTo(totals.TokensByModel.GetValueOrDefault((model, TokenDirections.CacheWrite)));
            instruments.ReasoningTokens.IncTo(totals.TokensByModel.GetValueOrDefault((model, TokenDirections.Reasoning)));
            foreach (var (endpoint, series) in instruments.Requests)
            {
                series.Seeded = totals.ServedByModelEndpoint.GetValueOrDefault((model, endpoint));
                series.Publish();
            }

            foreach (var (tenant, counter) in instruments.TenantCost)
            {
                counter.IncTo(totals.CostUsdByModelTenant.GetValueOrDefault((model, tenant)));
            }
        }

        foreach (var device in _devices)
        {
            // The recorded bill where the ledger has it: with the Latency method, request costs overlap and exceed the bill.
            var idle = totals.IdleUsdByDevice.GetValueOrDefault(device.Device);
            var bill = totals.BillUsdByDevice?.GetValueOrDefault(device.Device) ?? idle + totals.RequestCostUsdByDevice.GetValueOrDefault(device.Device);
            var energy = totals.EnergyByDevice?.GetValueOrDefault(device.Device) ?? default;
            _carried[device.Device] = (new DeviceShare(bill, energy.Bill.Joules, energy.Bill.Co2eGrams), new DeviceShare(idle, energy.Idle.Joules, energy.Idle.Co2eGrams));
        }

        PublishDeviceAccounts();
    }
}
