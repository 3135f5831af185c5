namespace ModelMeter.Budgets;

/// <summary>What a budget covers.</summary>
public enum BudgetScope
{
    /// <summary>Every request.</summary>
    Global,

    /// <summary>The requests to one model.</summary>
    Model,

    /// <summary>The requests of one tenant.</summary>
    Tenant,
}

/// <summary>How long a budget period lasts.</summary>
public enum BudgetPeriod
{
    /// <summary>A calendar day in the budget's time zone.</summary>
    Day,

    /// <summary>A calendar month in the budget's time zone.</summary>
    Month,
}

/// <summary>
/// A spending limit per period. Request costs count toward it (idle time belongs to no one).
/// </summary>
/// <param name="Name">The <c>budget</c> label value and the webhook's name for it.</param>
/// <param name="Scope">What it covers.</param>
/// <param name="Target">The model or tenant for <see cref="BudgetScope.Model"/> and <see cref="BudgetScope.Tenant"/>.</param>
/// <param name="Period">Day or month.</param>
/// <param name="TimeZone">Where periods start at midnight.</param>
/// <param name="LimitUsd">US dollars per period.</param>
/// <param name="Thresholds">Fractions of the limit that notify, ascending (0.8 and 1.0 by default).</param>
/// <param name="Enforce">Refuse requests in scope once the limit is reached, until the period resets.</param>
/// <param name="WebhookUrl">Where crossings are posted (Slack-compatible JSON), if anywhere.</param>
public sealed record BudgetDefinition(
    string Name, BudgetScope Scope, string? Target, BudgetPeriod Period, TimeZoneInfo TimeZone,
    double LimitUsd, IReadOnlyList<double> Thresholds, bool Enforce, Uri? WebhookUrl)
{
    /// <summary>Whether a request to <paramref name="model"/> by <paramref name="tenant"/> counts toward this budget.</summary>
    public bool Covers(string model, string tenant) => Scope switch
    {
        BudgetScope.Global => true,
        BudgetScope.Model => string.Equals(Target, model, StringComparison.Ordinal),
        BudgetScope.Tenant => string.Equals(Target, tenant, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>The period holding <paramref name="at"/>: [start, end) in UTC.</summary>
    public (DateTimeOffset Start, DateTimeOffset End) PeriodOf(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, TimeZone);
        var startLocal = Period == BudgetPeriod.Day
            ? new DateTime(local.Year, local.Month, local.Day, 0, 0, 0, DateTimeKind.Unspecified)
            : new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var endLocal = Period == BudgetPeriod.Day ? startLocal.AddDays(1) : startLocal.AddMonths(1);
        return (ToUtc(startLocal), ToUtc(endLocal));
    }

    /// <summary>
    /// A local midnight in UTC. Where the clock skips that midnight (summer time starting at 00:00, as in Santiago, Havana
    /// or Cairo) the day starts at its first moment, the end of the gap: <see cref="TimeZoneInfo.ConvertTimeToUtc(DateTime, TimeZoneInfo)"/>
    /// throws for a time that does not exist.
    /// </summary>
    private DateTimeOffset ToUtc(DateTime local)
    {
        while (TimeZone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1); // gaps start and end on whole minutes (an hour or half an hour in practice)
        }

        return new(TimeZoneInfo.ConvertTimeToUtc(local, TimeZone), TimeSpan.Zero);
    }
}
