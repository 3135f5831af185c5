namespace ModelMeter.Budgets;

/// <summary>The outcome of asking the budgets whether a request may run.</summary>
/// <param name="requestId">The request.</param>
/// <param name="reserved">The budgets reserved in, each with the start of the period the reservation was taken in.</param>
/// <param name="estimateUsd">The cost reserved in each of them, US dollars.</param>
/// <param name="refusedBy">Null when admitted; else the name of the enforcing budget that is spent (or that could not be checked).</param>
/// <param name="retryAfter">How long until the refusing budget's period resets (or the store may answer again).</param>
public sealed class BudgetAdmission(
    string requestId, IReadOnlyList<(BudgetDefinition Budget, DateTimeOffset PeriodStart)> reserved, double estimateUsd, string? refusedBy, TimeSpan retryAfter)
{
    private int _settled;

    /// <summary>How long a request refused because in-flight reservations fill the budget waits: they settle soon.</summary>
    public static readonly TimeSpan HeldRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>The request.</summary>
    public string RequestId { get; } = requestId;

    /// <summary>
    /// Refused though the budget is not spent: what is left of it is reserved by requests in flight, which settle soon
    /// (and usually for less than they reserved). Retry after <see cref="HeldRetryAfter"/>.
    /// </summary>
    public bool HeldByRequestsInFlight { get; init; }

    /// <summary>Null when admitted; else the name of the enforcing budget that is spent.</summary>
    public string? RefusedBy { get; } = refusedBy;

    /// <summary>How long until the refusing budget's period resets.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;

    /// <summary>The cost reserved at admission, US dollars.</summary>
    public double EstimateUsd { get; } = estimateUsd;

    /// <summary>The budgets reserved in, each with the start of the period the reservation was taken in.</summary>
    public IReadOnlyList<(BudgetDefinition Budget, DateTimeOffset PeriodStart)> Reserved { get; } = reserved;

    /// <summary>True for the first caller only: the one that settles this admission (a refused one has nothing to settle).</summary>
    public bool TryClaimSettlement() => RefusedBy is null && Interlocked.Exchange(ref _settled, 1) == 0;
}
