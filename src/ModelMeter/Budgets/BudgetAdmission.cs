namespace ModelMeter.Budgets;

/// <summary>The outcome of asking the budgets whether a request may run.</summary>
public sealed class BudgetAdmission
{
    internal BudgetAdmission(IReadOnlyList<(BudgetTracker.State State, DateTimeOffset PeriodStart)> reserved, double estimateUsd, string? refusedBy, TimeSpan retryAfter)
    {
        Reserved = reserved;
        EstimateUsd = estimateUsd;
        RefusedBy = refusedBy;
        RetryAfter = retryAfter;
    }

    /// <summary>Null when admitted; else the name of the enforcing budget that is spent.</summary>
    public string? RefusedBy { get; }

    /// <summary>How long until the refusing budget's period resets.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>The cost reserved at admission, US dollars.</summary>
    public double EstimateUsd { get; }

    /// <summary>The budgets reserved in, each with the start of the period the reservation was taken in.</summary>
    internal IReadOnlyList<(BudgetTracker.State State, DateTimeOffset PeriodStart)> Reserved { get; }

    internal bool Settled { get; set; }
}
