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

    private static LedgerRow Row(DateTimeOffset endedAt, double costUsd) =>
        new($"req_{Guid.NewGuid():N}", endedAt.AddSeconds(-1), endedAt, "m", "generate", "acme", "", "gpu0", 10, 20, 1, 0.1, costUsd, "ok", 1);
}
