namespace ModelMeter.Metering;

/// <summary>Metric and label names, kept in one place. The first five are the classic setup's, unchanged.</summary>
public static class MetricNames
{
    public const string Requests = "model_request_total";
    public const string Tokens = "model_tokens_total";
    public const string RequestDuration = "model_request_duration_seconds";
    public const string EstimatedCost = "model_estimated_cost_dollars_total";
    public const string GpuUtilization = "gpu_utilization_percent";
    public const string Errors = "model_request_errors_total";
    public const string TimeToFirstToken = "model_time_to_first_token_seconds";
    public const string InFlight = "model_inflight_requests";
    public const string DeviceCost = "device_cost_dollars_total";
    public const string DeviceIdleCost = "device_idle_cost_dollars_total";
    public const string TenantCost = "model_tenant_cost_dollars_total";
    public const string BudgetSpent = "budget_spent_dollars";
    public const string BudgetLimit = "budget_limit_dollars";
    public const string BudgetStoreUnavailable = "budget_store_unavailable_total";
    public const string Tenant = "tenant";
    public const string Budget = "budget";
    public const string BatchSize = "model_batch_size";
    public const string QueueWait = "model_queue_wait_seconds";
    public const string BatchRows = "model_batch_rows";
    public const string BatchRowsWithoutOwner = "model_batch_rows_without_owner_total";
    public const string LedgerRowsDropped = "ledger_rows_dropped_total";
    public const string LedgerShipLag = "ledger_ship_lag_seconds";
    public const string LedgerShipFailures = "ledger_ship_failures_total";
    public const string LedgerRowsShipped = "ledger_rows_shipped_total";
    public const string ReferencePrice = "model_reference_price_dollars_per_million_tokens";

    public const string Model = "model_name";
    public const string Endpoint = "endpoint";
    public const string Direction = "direction";
    public const string Reason = "reason";
    public const string Device = "device";
}
