using System.Text.Json.Serialization;

namespace ModelMeter.AspNetCore.Costs;

// The answers of /api/costs/*, written in snake_case (RequestBody.Json); names with digits are spelled out.

/// <summary><c>GET /api/costs/summary</c>; <c>EstimatedUsd</c> is the part of the total that is still an estimate (shared devices' time not yet settled, fleet mode).</summary>
internal sealed record CostSummaryResponse(
    DateTimeOffset From, DateTimeOffset To, string By, string Idle, string? Model, string? Tenant, double TotalUsd, IReadOnlyList<CostSummaryLine> Rows, double EstimatedUsd = 0);

/// <summary>One group of a summary; cached, cache-written and reasoning tokens are parts of its input and output tokens.</summary>
internal sealed record CostSummaryLine(
    string Key, long Requests, long InputTokens, long OutputTokens, double CostUsd, double IdleUsd, double TotalUsd,
    long CachedInputTokens = 0, long CacheWriteTokens = 0, long ReasoningTokens = 0,
    [property: JsonPropertyName("energy_j")] double EnergyJ = 0, [property: JsonPropertyName("co2e_g")] double Co2eG = 0);

/// <summary><c>GET /api/costs/timeseries</c>.</summary>
internal sealed record CostTimeseriesResponse(
    string? Model, string? Tenant, DateTimeOffset From, DateTimeOffset To, string By, double StepSeconds, IReadOnlyList<CostTimeseriesPoint> Points);

/// <summary>One point of a time series.</summary>
internal sealed record CostTimeseriesPoint(
    string Key, DateTimeOffset Start, double CostUsd, [property: JsonPropertyName("energy_j")] double EnergyJ = 0, [property: JsonPropertyName("co2e_g")] double Co2eG = 0);

/// <summary><c>GET /api/costs/forecast</c>.</summary>
internal sealed record CostForecastResponse(
    DateTimeOffset MonthStart, DateTimeOffset Now, double MonthToDateUsd, [property: JsonPropertyName("trailing_7d_daily_usd")] double Trailing7dDailyUsd, double ProjectedMonthUsd,
    double TrailingDays);

/// <summary><c>GET /api/costs/stats</c>: per-model figures over a window.</summary>
internal sealed record CostStatsResponse(
    DateTimeOffset From, DateTimeOffset To, double WindowSeconds, IReadOnlyList<ModelStatsLine> Models, IReadOnlyList<EndpointRate> Endpoints, IReadOnlyList<ErrorRate> Errors);

/// <summary>One model's figures, with its loaded cost and the self-hosting comparison.</summary>
internal sealed record ModelStatsLine(
    string Model, long Requests, long Failed, long InputTokens, long OutputTokens, double CostUsd, double IdleUsd, double TotalUsd,
    [property: JsonPropertyName("cost_per_1k_output_usd")] double? CostPer1kOutputUsd,
    double RequestsPerMinute,
    [property: JsonPropertyName("latency_p50_seconds")] double? LatencyP50Seconds,
    [property: JsonPropertyName("latency_p95_seconds")] double? LatencyP95Seconds,
    [property: JsonPropertyName("latency_p99_seconds")] double? LatencyP99Seconds,
    [property: JsonPropertyName("ttft_p95_seconds")] double? TtftP95Seconds,
    ReferenceComparison? Reference)
{
    /// <summary>Its energy with its share of idle energy (shared by cost, as idle dollars), joules.</summary>
    [JsonPropertyName("energy_j")]
    public double EnergyJ { get; init; }

    /// <summary>The carbon of that energy, grams of CO2e.</summary>
    [JsonPropertyName("co2e_g")]
    public double Co2eG { get; init; }

    /// <summary>Watt-hours per 1,000 output tokens; null without output.</summary>
    [JsonPropertyName("wh_per_1k_output_tokens")]
    public double? WhPer1kOutputTokens { get; init; }

    /// <summary>Grams of CO2e per 1,000 tokens, input and output (the functional unit of the Green Software Foundation's SCI for AI); null without tokens.</summary>
    [JsonPropertyName("co2e_g_per_1k_tokens")]
    public double? Co2eGPer1kTokens { get; init; }
}

/// <summary>What a reference API would have charged for the same tokens.</summary>
internal sealed record ReferenceComparison(
    double InputPerMillion, double OutputPerMillion, double CostUsd, [property: JsonPropertyName("cost_per_1k_output_usd")] double? CostPer1kOutputUsd, double SavedUsd);

/// <summary>Requests of one model through one endpoint.</summary>
internal sealed record EndpointRate(string Model, string Endpoint, long Requests, double RequestsPerMinute);

/// <summary>Failed requests of one model for one reason.</summary>
internal sealed record ErrorRate(string Model, string Reason, long Requests, double RequestsPerMinute);

/// <summary><c>GET /api/costs/budgets</c>.</summary>
internal sealed record BudgetsResponse(IReadOnlyList<BudgetLine> Budgets);

/// <summary>One budget in its current period.</summary>
internal sealed record BudgetLine(
    string Name, string Scope, string? Target, string Period, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, double LimitUsd, double SpentUsd,
    IReadOnlyList<double> Thresholds, bool Enforce);

/// <summary><c>GET /api/costs/devices</c>: the devices now.</summary>
internal sealed record DevicesResponse(DateTimeOffset Now, int GpusAvailable, IReadOnlyList<DeviceLine> Devices)
{
    /// <summary>Whether reports read the fleet ledger (ClickHouse): then they can be grouped by node.</summary>
    public bool Fleet { get; init; }
}

/// <summary>One device's rate and bill so far, and its GPU reading where there is one.</summary>
internal sealed record DeviceLine(string Device, string? Kind, double HourlyUsd, double BillUsd, double IdleUsd, int InFlight, GpuLine? Gpu)
{
    /// <summary>Its energy so far, joules (since this process started).</summary>
    [JsonPropertyName("energy_j")]
    public double EnergyJ { get; init; }

    /// <summary>Where the energy comes from: <c>nvml</c>, <c>estimate</c> or null (none).</summary>
    public string? EnergySource { get; init; }
}

/// <summary>A GPU's last reading.</summary>
internal sealed record GpuLine(double? MemoryPercent, double? ComputePercent, double? PowerWatts);

/// <summary><c>GET /api/costs/activity</c>: requests, latency and errors per step.</summary>
internal sealed record ActivityResponse(
    DateTimeOffset From, DateTimeOffset To, double StepSeconds, string? Model,
    IReadOnlyList<ActivityRequests> Requests, IReadOnlyList<ActivityLatencyLine> Latency, IReadOnlyList<ActivityError> Errors);

/// <summary>One model's requests ending in one step (served or failed after using its device).</summary>
internal sealed record ActivityRequests(DateTimeOffset Start, string Model, long Requests, long Failed);

/// <summary>The served requests' latency in one step.</summary>
internal sealed record ActivityLatencyLine(
    DateTimeOffset Start, long Served, [property: JsonPropertyName("p50_seconds")] double P50Seconds, [property: JsonPropertyName("p95_seconds")] double P95Seconds);

/// <summary>Requests of one model that ended with one error in one step; <see cref="Refused"/>: refused before using the device (no ledger row; this server's count).</summary>
internal sealed record ActivityError(DateTimeOffset Start, string Model, string Reason, long Requests, bool Refused);
