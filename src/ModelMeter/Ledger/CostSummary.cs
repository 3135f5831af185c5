namespace ModelMeter.Ledger;

/// <summary>One group of a cost report.</summary>
/// <param name="Key">The group (model name, tenant, day as yyyy-MM-dd, ...; <c>(idle)</c> for separate idle).</param>
/// <param name="Requests">Requests in the group.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="CostUsd">The requests' own (marginal) cost.</param>
/// <param name="IdleUsd">Idle cost shared to the group.</param>
public sealed record CostSummaryRow(string Key, long Requests, long InputTokens, long OutputTokens, double CostUsd, double IdleUsd)
{
    /// <summary>The key prefix of separate idle rows: <c>(idle) gpu0</c>.</summary>
    public const string IdleKey = "(idle)";

    /// <summary>The key prefix of a shared device's unmetered load (callers that bypassed the gateways): <c>(unmetered) gpu0</c>.</summary>
    public const string UnmeteredKey = "(unmetered)";

    /// <summary>The key of the row counting streams whose final row is not written yet.</summary>
    public const string ProvisionalKey = "(provisional)";

    /// <summary>Whether this row is a device's idle time rather than a group of requests.</summary>
    public bool IsIdle => Key.StartsWith(IdleKey, StringComparison.Ordinal);

    /// <summary>Whether this row is a shared device's unmetered load rather than a group of requests.</summary>
    public bool IsUnmetered => Key.StartsWith(UnmeteredKey, StringComparison.Ordinal);

    /// <summary>Whether this row counts streams still provisional rather than a group of requests.</summary>
    public bool IsProvisional => Key == ProvisionalKey;

    /// <summary>The cached, cache-written and reasoning parts of the group's tokens (paid APIs that report them).</summary>
    public Pricing.TokenDetails Details { get; init; }

    /// <summary>The group's energy with its share of idle energy (shared as idle dollars are), joules; a device's idle energy on an idle row.</summary>
    public double EnergyJoules { get; init; }

    /// <summary>The carbon of <see cref="EnergyJoules"/>, grams of CO2e.</summary>
    public double Co2eGrams { get; init; }

    /// <summary>Cost with its idle share: the loaded cost.</summary>
    public double TotalUsd => CostUsd + IdleUsd;
}

/// <summary>A cost report over [<see cref="From"/>, <see cref="To"/>).</summary>
public sealed record CostSummary(DateTimeOffset From, DateTimeOffset To, CostGrouping By, IdleSharing Idle, IReadOnlyList<CostSummaryRow> Rows)
{
    /// <summary>Requests plus idle: the devices' bill for the window.</summary>
    public double TotalUsd => Rows.Sum(r => r.TotalUsd);

    /// <summary>
    /// The part of <see cref="TotalUsd"/> that is still an estimate: shared devices' time after their last settled minute,
    /// as each replica estimated it (fleet ledger only; 0 once everything in the window is settled).
    /// </summary>
    public double EstimatedUsd { get; init; }
}
