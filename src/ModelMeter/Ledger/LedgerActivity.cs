namespace ModelMeter.Ledger;

/// <summary>Requests over time from the ledger: per bucket and model, how many ended, how many failed, and the served ones' latency.</summary>
/// <param name="Requests">Per bucket and model.</param>
/// <param name="Latency">Per bucket: the median and 95th percentile latency of the served requests (all models, or the filter's).</param>
/// <param name="Failures">Per bucket and status: requests that used their device and failed.</param>
public sealed record LedgerActivity(IReadOnlyList<ActivityCount> Requests, IReadOnlyList<ActivityLatency> Latency, IReadOnlyList<ActivityFailure> Failures);

/// <summary>Requests of one model ending in one bucket.</summary>
public sealed record ActivityCount(DateTimeOffset Start, string Model, long Requests, long Failed);

/// <summary>Latency quantiles of the requests served in one bucket (exact: the value at rank floor(q × n)).</summary>
public sealed record ActivityLatency(DateTimeOffset Start, long Served, double P50Seconds, double P95Seconds);

/// <summary>Requests that failed with one reason in one bucket.</summary>
public sealed record ActivityFailure(DateTimeOffset Start, string Model, string Reason, long Requests);
