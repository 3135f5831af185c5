using ModelMeter.Ledger;

namespace ModelMeter.AspNetCore.Costs;

/// <summary>
/// Month to date (UTC) and the month-end projection from the daily average of the trailing seven days, or of the time
/// since the ledger's first cost when that is less (a ledger an hour old is averaged over its hour, not seven days).
/// </summary>
internal sealed record CostForecast(DateTimeOffset MonthStart, DateTimeOffset Now, double MonthToDateUsd, double TrailingDailyUsd, double ProjectedMonthUsd)
{
    /// <summary>The days the daily average is taken over: seven, or fewer when the ledger's first cost is younger.</summary>
    public double TrailingDays { get; init; }

    /// <summary>The longest trailing window.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromDays(7);

    /// <remarks>
    /// The present is read once: the window's hourly buckets up to now. Month to date is those buckets plus (or minus) the
    /// closed stretch between the month's start and the window's, so a row committed while the forecast reads lands in both
    /// figures or in neither (two reads up to now disagreed by whatever was committed between them).
    /// </remarks>
    public static async Task<CostForecast> ComputeAsync(ILedgerReports store, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        now = now.ToUniversalTime();
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthEnd = monthStart.AddMonths(1);
        var from = CeilingToMinute(now - Window); // where the buckets start: on whole minutes
        // Hourly buckets give both the window's cost (their sum is the summary's) and the hour of its first cost.
        var hours = await store.TimeseriesAsync(from, now, CostGrouping.Device, TimeSpan.FromHours(1), cancellationToken: cancellationToken);
        var trailing = hours.Sum(p => p.CostUsd);
        var monthToDate = monthStart == from ? trailing
            : monthStart < from ? await CostAsync(store, monthStart, from, cancellationToken) + trailing
            : Math.Max(trailing - await CostAsync(store, from, monthStart, cancellationToken), 0);
        var since = await FirstCostAsync(store, hours, from, now, cancellationToken) ?? from;
        var days = Math.Max((now - since).TotalDays, 1.0 / 1440); // at least a minute
        var trailingDaily = trailing / days;
        var projected = monthToDate + trailingDaily * (monthEnd - now).TotalDays;
        return new CostForecast(monthStart, now, monthToDate, trailingDaily, projected) { TrailingDays = days };
    }

    private static async Task<double> CostAsync(ILedgerReports store, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        (await store.SummarizeAsync(from, to, CostGrouping.Device, IdleSharing.Separate, cancellationToken: cancellationToken)).TotalUsd;

    private static DateTimeOffset CeilingToMinute(DateTimeOffset time) =>
        new((time.UtcTicks + TimeSpan.TicksPerMinute - 1) / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute, TimeSpan.Zero);

    /// <summary>
    /// The start of the first minute in [<paramref name="from"/>, <paramref name="to"/>) with any cost (idle included, which
    /// the ledger writes every minute the server runs): the hour from <paramref name="hours"/>, then the minute within it. Null
    /// when there is none.
    /// </summary>
    private static async Task<DateTimeOffset?> FirstCostAsync(ILedgerReports store, IReadOnlyList<CostPoint> hours, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        if (hours.Where(p => p.CostUsd > 0).Select(p => p.Start).DefaultIfEmpty(to).Min() is var hour && hour >= to)
        {
            return null;
        }

        if (hour <= from)
        {
            return from; // cost from the window's first hour: the whole window counts
        }

        var end = hour.AddHours(1) < to ? hour.AddHours(1) : to;
        var minutes = await store.TimeseriesAsync(hour, end, CostGrouping.Device, TimeSpan.FromMinutes(1), cancellationToken: cancellationToken);
        return minutes.Where(p => p.CostUsd > 0).Select(p => p.Start).DefaultIfEmpty(hour).Min();
    }
}
