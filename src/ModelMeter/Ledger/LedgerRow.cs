namespace ModelMeter.Ledger;

/// <summary>One finished request in the ledger: who, what, how many tokens, and what it cost.</summary>
/// <param name="RequestId">The id the client was given.</param>
/// <param name="StartedAt">When the request arrived.</param>
/// <param name="EndedAt">When it ended; reports place the request at this time.</param>
/// <param name="Model">The model.</param>
/// <param name="Endpoint">The endpoint label (generate, ...).</param>
/// <param name="Tenant">Who pays.</param>
/// <param name="User">The end user, or empty.</param>
/// <param name="Device">The device it ran on.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="LatencySeconds">Arrival to end.</param>
/// <param name="TimeToFirstTokenSeconds">Arrival to first token, if any.</param>
/// <param name="CostUsd">Its share of the device's cost, US dollars.</param>
/// <param name="Status"><c>ok</c>, or the error reason of a request that used device time and failed.</param>
/// <param name="HourlyUsd">The device rate in force when it started, US dollars per hour (for repricing).</param>
/// <param name="RateVersion">The device's rate-card version then (index of the rate in force; -1 if none).</param>
public sealed record LedgerRow(
    string RequestId,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    string Model,
    string Endpoint,
    string Tenant,
    string User,
    string Device,
    int InputTokens,
    int OutputTokens,
    double LatencySeconds,
    double? TimeToFirstTokenSeconds,
    double CostUsd,
    string Status,
    double HourlyUsd,
    int RateVersion = -1)
{
    /// <summary>
    /// The status of a stream's row committed before its first token (Strict): replaced by the final row when the stream
    /// ends. One left behind means the process died mid-stream; its <see cref="CostUsd"/> is the budget reservation, not a cost.
    /// </summary>
    public const string ProvisionalStatus = "provisional";

    /// <summary>Whether this is a provisional row.</summary>
    public bool IsProvisional => Status == ProvisionalStatus;

    /// <summary>True when the token counts were estimated by ModelMeter because the backend (an upstream) reported none.</summary>
    public bool UsageEstimated { get; init; }

    /// <summary>The cached, cache-written and reasoning parts of <see cref="InputTokens"/> and <see cref="OutputTokens"/>, as a paid API reported them.</summary>
    public Pricing.TokenDetails Details { get; init; }

    /// <summary>Its share of its device's energy, joules (0 where none is counted).</summary>
    public double EnergyJoules { get; init; }

    /// <summary>The carbon of that energy, grams of CO2e.</summary>
    public double Co2eGrams { get; init; }

    /// <summary>When it started using its device, after queueing: its rate is the rate then (repricing looks it up there). Null: <see cref="StartedAt"/>.</summary>
    public DateTimeOffset? DeviceStartedAt { get; init; }
}
