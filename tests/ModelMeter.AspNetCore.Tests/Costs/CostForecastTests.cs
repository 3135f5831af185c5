using Microsoft.Data.Sqlite;
using ModelMeter.AspNetCore.Costs;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.AspNetCore.Tests.Costs;

public sealed class CostForecastTests : IDisposable
{
    // Mid-month, so that every row below is in this month and in the trailing window.
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("modelmeter-forecast-").FullName;
    private readonly SqliteLedger _ledger;

    public CostForecastTests()
    {
        _ledger = new SqliteLedger(Path.Combine(_directory, "ledger.db"));
        _ledger.Initialize();
    }

    [Fact]
    public async Task LedgerTwoHoursOld_AveragedOverItsTwoHours_NotSevenDays()
    {
        // A new install on a $1-an-hour device: idle every minute of its first two hours, and one request.
        var first = Now.AddHours(-2);
        _ledger.Append([Row(Now.AddMinutes(-30), 0.25)], [.. Enumerable.Range(0, 120).Select(m => new IdleRow("gpu0", first.AddMinutes(m), 1.0 / 60, 1))]);

        var forecast = await CostForecast.ComputeAsync(_ledger, Now);

        Assert.Equal(2.25, forecast.MonthToDateUsd, 9);
        Assert.Equal(2.0 / 24, forecast.TrailingDays, 9);
        Assert.Equal(2.25 * 12, forecast.TrailingDailyUsd, 9); // the pace of its two hours: $27 a day, not 2.25 / 7
        Assert.Equal(2.25 + (27 * 10.5), forecast.ProjectedMonthUsd, 9); // 10.5 days left of November
    }

    [Fact]
    public async Task CostFromTheWindowsFirstHour_AveragedOverSevenDays()
    {
        _ledger.Append([Row(Now.AddDays(-7).AddMinutes(10), 7), Row(Now.AddHours(-1), 7)], []);

        var forecast = await CostForecast.ComputeAsync(_ledger, Now);

        Assert.Equal(7, forecast.TrailingDays, 9);
        Assert.Equal(2, forecast.TrailingDailyUsd, 9);
    }

    [Fact]
    public async Task EarlyInTheMonth_MonthToDateIsThisMonthsOnly_ThePaceIsTheWindows()
    {
        // December 3rd: the window reaches back into November, the month to date does not.
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        _ledger.Append([Row(now.AddDays(-6), 6), Row(now.AddDays(-1), 1)], [new IdleRow("gpu0", new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), 0.5, 1)]);

        var forecast = await CostForecast.ComputeAsync(_ledger, now);

        Assert.Equal(1.5, forecast.MonthToDateUsd, 9);
        Assert.Equal(6, forecast.TrailingDays, 9); // from the first cost's minute
        Assert.Equal(7.5 / 6, forecast.TrailingDailyUsd, 9);
        Assert.Equal(1.5 + (7.5 / 6 * 28.5), forecast.ProjectedMonthUsd, 9);
    }

    [Theory]
    [InlineData(20)] // the month began before the window
    [InlineData(3)] // the window began before the month
    public async Task RowCommittedWhileTheForecastReads_InBothFiguresOrNeither(int day)
    {
        var now = new DateTimeOffset(2026, 11, day, 12, 0, 0, TimeSpan.Zero);
        _ledger.Append([Row(now.AddHours(-2), 2)], []);
        // A request ending a second ago commits its row after the forecast's first read.
        var reads = new CommitsAfterFirstRead(_ledger, Row(now.AddSeconds(-1), 1));

        var forecast = await CostForecast.ComputeAsync(reads, now);

        Assert.True(reads.Committed);
        Assert.Equal(forecast.MonthToDateUsd, forecast.TrailingDailyUsd * forecast.TrailingDays, 9);
    }

    [Fact]
    public async Task NoCostAtAll_ProjectsNothing()
    {
        var forecast = await CostForecast.ComputeAsync(_ledger, Now);

        Assert.Equal((0.0, 0.0, 0.0), (forecast.MonthToDateUsd, forecast.TrailingDailyUsd, forecast.ProjectedMonthUsd));
    }

    public void Dispose()
    {
        _ledger.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>The ledger as a report sees it while a request commits: the row lands once the first read is done.</summary>
    private sealed class CommitsAfterFirstRead(SqliteLedger ledger, LedgerRow row) : ILedgerReports
    {
        public bool Committed { get; private set; }

        public async Task<CostSummary> SummarizeAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null, CancellationToken cancellationToken = default) =>
            AfterRead(await ((ILedgerReports)ledger).SummarizeAsync(from, to, by, idle, filter, cancellationToken));

        public async Task<IReadOnlyList<CostPoint>> TimeseriesAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null, CancellationToken cancellationToken = default) =>
            AfterRead(await ((ILedgerReports)ledger).TimeseriesAsync(from, to, by, step, filter, cancellationToken));

        public Task<LedgerStats> StatsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<LedgerActivity> ActivityAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        private T AfterRead<T>(T result)
        {
            if (!Committed)
            {
                ledger.Append([row], []);
                Committed = true;
            }

            return result;
        }
    }

    private static LedgerRow Row(DateTimeOffset endedAt, double costUsd) =>
        new($"req_{Guid.NewGuid():N}", endedAt.AddSeconds(-1), endedAt, "m", "generate", "acme", "", "gpu0", 10, 20, 1, 0.1, costUsd, "ok", 1);
}
