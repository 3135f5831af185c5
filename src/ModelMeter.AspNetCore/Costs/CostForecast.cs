using ModelMeter.Ledger;

namespace ModelMeter.AspNetCore.Costs;

/// <summary>Month to date (UTC) and the month-end projection from the trailing seven days' daily average.</summary>
internal sealed record CostForecast(DateTimeOffset MonthStart, DateTimeOffset Now, double MonthToDateUsd, double TrailingDailyUsd, double ProjectedMonthUsd)
{
    public static async Task<CostForecast> ComputeAsync(ILedgerReports store, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        now = now.ToUniversalTime();
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthEnd = monthStart.AddMonths(1);
        var monthToDate = now > monthStart ? (await store.SummarizeAsync(monthStart, now, CostGrouping.Device, IdleSharing.Separate, cancellationToken: cancellationToken)).TotalUsd : 0;
        var trailingDaily = (await store.SummarizeAsync(now.AddDays(-7), now, CostGrouping.Device, IdleSharing.Separate, cancellationToken: cancellationToken)).TotalUsd / 7;
        var projected = monthToDate + trailingDaily * (monthEnd - now).TotalDays;
        return new CostForecast(monthStart, now, monthToDate, trailingDaily, projected);
    }
}
