namespace ModelMeter.Ledger;

/// <summary>Request figures of one model over a window, from its ledger rows (requests that used device time).</summary>
/// <param name="Model">The model.</param>
/// <param name="Requests">Rows ending in the window (served or failed after using the device).</param>
/// <param name="Failed">Those whose status is not <c>ok</c>.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="CostUsd">The requests' own cost.</param>
/// <param name="LatencyP50">Median arrival-to-end seconds of the served requests; null without any.</param>
/// <param name="LatencyP95">95th percentile.</param>
/// <param name="LatencyP99">99th percentile.</param>
/// <param name="TimeToFirstTokenP95">95th percentile of arrival to first token of the served requests that produced one.</param>
public sealed record ModelStats(
    string Model, long Requests, long Failed, long InputTokens, long OutputTokens, double CostUsd,
    double? LatencyP50, double? LatencyP95, double? LatencyP99, double? TimeToFirstTokenP95);

/// <summary>Rows of one model, endpoint and status over a window.</summary>
public sealed record EndpointStats(string Model, string Endpoint, string Status, long Requests);

/// <summary>Per-model figures, request counts by endpoint and status, over [<see cref="From"/>, <see cref="To"/>).</summary>
public sealed record LedgerStats(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ModelStats> Models, IReadOnlyList<EndpointStats> Endpoints);
