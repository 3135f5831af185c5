namespace ModelMeter.Metering;

/// <summary>Metric and label names, kept in one place. The first five are the classic setup's, unchanged.</summary>
public static class MetricNames
{
    /// <summary>Counter: requests served, by model and endpoint.</summary>
    public const string Requests = "model_request_total";

    /// <summary>Counter: tokens read (input) and generated (output), by model.</summary>
    public const string Tokens = "model_tokens_total";

    /// <summary>Histogram: request latency in seconds, queueing included.</summary>
    public const string RequestDuration = "model_request_duration_seconds";

    /// <summary>Counter: device cost attributed to a model's requests, US dollars.</summary>
    public const string EstimatedCost = "model_estimated_cost_dollars_total";

    /// <summary>Gauge: GPU compute utilization, percent (from NVML where there is a GPU).</summary>
    public const string GpuUtilization = "gpu_utilization_percent";

    /// <summary>Counter: failed requests, by model, endpoint and reason.</summary>
    public const string Errors = "model_request_errors_total";

    /// <summary>Histogram: seconds from a request's start to its first token.</summary>
    public const string TimeToFirstToken = "model_time_to_first_token_seconds";

    /// <summary>Gauge: requests running on a model's device now.</summary>
    public const string InFlight = "model_inflight_requests";

    /// <summary>Counter: the device bill, device time × hourly rate, US dollars.</summary>
    public const string DeviceCost = "device_cost_dollars_total";

    /// <summary>Counter: the part of the device bill with no request in flight, US dollars.</summary>
    public const string DeviceIdleCost = "device_idle_cost_dollars_total";

    /// <summary>Counter: cost of a configured tenant's requests, by model and tenant.</summary>
    public const string TenantCost = "model_tenant_cost_dollars_total";

    /// <summary>Gauge: spent in a budget's current period, US dollars.</summary>
    public const string BudgetSpent = "budget_spent_dollars";

    /// <summary>Gauge: a budget's limit per period, US dollars.</summary>
    public const string BudgetLimit = "budget_limit_dollars";

    /// <summary>Counter: budget admissions or settlements the shared store could not answer, by operation.</summary>
    public const string BudgetStoreUnavailable = "budget_store_unavailable_total";

    /// <summary>Label: the tenant (only configured tenants).</summary>
    public const string Tenant = "tenant";

    /// <summary>Label: the budget's name.</summary>
    public const string Budget = "budget";

    /// <summary>Histogram: rows decoded together in one forward pass.</summary>
    public const string BatchSize = "model_batch_size";

    /// <summary>Histogram: seconds a request waited for its model (not charged).</summary>
    public const string QueueWait = "model_queue_wait_seconds";

    /// <summary>Gauge: rows in a model's running batch now.</summary>
    public const string BatchRows = "model_batch_rows";

    /// <summary>Counter: seconds an ONNX model's turns waited for other models' turns on its device.</summary>
    public const string TurnWait = "model_device_turn_wait_seconds_total";

    /// <summary>Counter: row-steps decoded for a row whose request had ended; always 0 unless a row leaks.</summary>
    public const string BatchRowsWithoutOwner = "model_batch_rows_without_owner_total";

    /// <summary>Counter: ledger rows given up, by kind.</summary>
    public const string LedgerRowsDropped = "ledger_rows_dropped_total";

    /// <summary>Gauge: age of the oldest ledger row not yet in the fleet ledger, seconds.</summary>
    public const string LedgerShipLag = "ledger_ship_lag_seconds";

    /// <summary>Counter: failed shipments to the fleet ledger.</summary>
    public const string LedgerShipFailures = "ledger_ship_failures_total";

    /// <summary>Counter: readings of a shared device server's load that failed (unreachable, no such metric), by device.</summary>
    public const string DeviceLoadScrapeFailures = "device_load_scrape_failures_total";

    /// <summary>Counter: ledger rows shipped to the fleet ledger, by kind.</summary>
    public const string LedgerRowsShipped = "ledger_rows_shipped_total";

    /// <summary>Gauge: a reference API's price for the model's tokens, US dollars per million, by direction.</summary>
    public const string ReferencePrice = "model_reference_price_dollars_per_million_tokens";

    /// <summary>Counter: device energy attributed to a model's requests, joules.</summary>
    public const string ModelEnergy = "model_energy_joules_total";

    /// <summary>Counter: the carbon of a model's energy, grams of CO2e.</summary>
    public const string ModelCo2e = "model_co2e_grams_total";

    /// <summary>Counter: a device's energy (NVML, or estimated), joules.</summary>
    public const string DeviceEnergy = "device_energy_joules_total";

    /// <summary>Counter: the part of a device's energy with no request in flight, joules.</summary>
    public const string DeviceIdleEnergy = "device_idle_energy_joules_total";

    /// <summary>Counter: the carbon of a device's energy, grams of CO2e.</summary>
    public const string DeviceCo2e = "device_co2e_grams_total";

    /// <summary>Label: the model's name.</summary>
    public const string Model = "model_name";

    /// <summary>Label: the route (generate, completions, chat, or a scope endpoint).</summary>
    public const string Endpoint = "endpoint";

    /// <summary>Label: input or output.</summary>
    public const string Direction = "direction";

    /// <summary>Label: why a request failed (an ErrorReason).</summary>
    public const string Reason = "reason";

    /// <summary>Label: the device's name.</summary>
    public const string Device = "device";
}
