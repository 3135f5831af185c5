using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ModelMeter.Metering;

namespace ModelMeter.Server.Tests.Ledger;

public sealed class LedgerEndToEndTests
{
    private static readonly string[] Models = ["demo-small", "demo-medium", "demo-large"];

    [Fact]
    public async Task Generate_32Concurrent_LedgerRowsEqualTheResponses()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);

        var responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/generate/{Models[i % 3]}")
            {
                Content = JsonContent.Create(new { prompt = $"row {i}", max_tokens = 4 + i % 5, user = $"user-{i % 4}" }),
            };
            request.Headers.Add("X-Tenant", i % 2 == 0 ? "acme" : "globex");
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }));

        Assert.Equal(responses.Select(r => r.GetProperty("request_id").GetString()!).ToHashSet(), LedgerFile.RequestIds(server.LedgerPath));
        var summary = await server.Client.GetFromJsonAsync<JsonElement>($"/api/costs/summary?by=tenant&from={Iso(from)}&to={Iso(DateTimeOffset.UtcNow.AddMinutes(1))}");
        var rows = summary.GetProperty("rows").EnumerateArray().Where(r => !r.GetProperty("key").GetString()!.StartsWith("(idle)", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["acme", "globex"], rows.Select(r => r.GetProperty("key").GetString()).Order());
        Assert.Equal(32, rows.Sum(r => r.GetProperty("requests").GetInt64()));
        var expectedUsd = responses.Sum(r => r.GetProperty("estimated_cost_usd").GetDouble());
        Assert.InRange(Math.Abs(rows.Sum(r => r.GetProperty("cost_usd").GetDouble()) - expectedUsd) / expectedUsd, 0, 1e-9);
        var rates = LedgerFile.Rows(server.LedgerPath, "SELECT DISTINCT hourly_usd, rate_version FROM requests", r => (r.GetDouble(0), r.GetInt64(1)));
        Assert.Equal([(3600.0, 0L)], rates);
        var users = LedgerFile.Rows(server.LedgerPath, "SELECT DISTINCT user FROM requests", r => r.GetString(0));
        Assert.Equal(["user-0", "user-1", "user-2", "user-3"], users.Order());
    }

    [Fact]
    public async Task Stop_AfterConcurrentTraffic_RequestAndIdleRowsEqualTheDeviceBill()
    {
        await using var clock = new RunningClock();
        var time = clock.Time;
        var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600), services: s => s.AddSingleton<TimeProvider>(time));
        try
        {
            // Overlapping requests on one device (three models, several at once per model): the shared-time split is what is tested.
            await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
            {
                using var response = await server.GenerateAsync(Models[i % Models.Length], new { prompt = $"bill me {i}", max_tokens = 8 });
                response.EnsureSuccessStatusCode();
            }));

            var meter = server.Services.GetRequiredService<CostMeter>();
            for (var minute = 0; minute < 3; minute++)
            {
                time.Advance(TimeSpan.FromMinutes(1)); // an idle minute, written by the minute timer
                await Eventually.TrueAsync(() => IdleMinutes(server) >= minute + 1, "the minute timer to write the idle minute");
            }

            await clock.StopAsync();
            await server.StopAsync();

            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.True(bill > 180, $"bill {bill}");
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
            var idleRows = LedgerFile.Rows(server.LedgerPath, "SELECT COUNT(*) FROM idle", r => r.GetInt64(0)).Single();
            Assert.True(idleRows >= 3, $"{idleRows} idle rows");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task RateChange_ThroughServerLedgerAndReprice_RowsCarryTheirRateAndAddUpToTheBill()
    {
        var start = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
        var change = start.AddMinutes(2);
        await using var clock = new RunningClock(start);
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Devices:cpu:Rates:0:From"] = change.ToString("O");
        settings["ModelMeter:Devices:cpu:Rates:0:HourlyUsd"] = "7200";
        var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            await SendAsync(server, "before");
            for (var minute = 0; minute < 3; minute++)
            {
                clock.Time.Advance(TimeSpan.FromMinutes(1)); // across the change; the minute timer writes idle rows
                await Eventually.TrueAsync(() => IdleMinutes(server) >= minute + 1, "the minute timer to write the idle minute");
            }

            await SendAsync(server, "after");
            var meter = server.Services.GetRequiredService<CostMeter>();
            await clock.StopAsync();
            await server.StopAsync();

            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
            var rates = LedgerFile.Rows(server.LedgerPath, "SELECT device_started_ms, hourly_usd, rate_version FROM requests", r => (At: r.GetInt64(0), Rate: r.GetDouble(1), Version: r.GetInt64(2)));
            Assert.All(rates, r => Assert.Equal(r.At < change.ToUnixTimeMilliseconds() ? (3600.0, 0L) : (7200.0, 1L), (r.Rate, r.Version)));
            Assert.Contains(rates, r => r.Version == 1);
            var idleRates = LedgerFile.Rows(server.LedgerPath, "SELECT minute_ms, hourly_usd FROM idle", r => (Minute: r.GetInt64(0), Rate: r.GetDouble(1)));
            Assert.All(idleRates, r => Assert.Equal(r.Minute < change.ToUnixTimeMilliseconds() ? 3600.0 : 7200.0, r.Rate));

            // The same rate card again: the ledger already holds what it says, so nothing changes.
            var output = new StringWriter();
            var code = ModelMeter.Server.Cli.CommandLine.Run(
                ["reprice", "--from", "2026-11-26T00:00:00Z", "--ledger", server.LedgerPath, "--ModelMeter:Devices:cpu:HourlyUsd=3600",
                 $"--ModelMeter:Devices:cpu:Rates:0:From={change:O}", "--ModelMeter:Devices:cpu:Rates:0:HourlyUsd=7200"], output, new StringWriter());
            Assert.Equal(0, code);
            Assert.StartsWith("Repriced 0 rows", output.ToString());
        }
        finally
        {
            await server.DisposeAsync();
        }

        static async Task SendAsync(RunningServer server, string prompt) =>
            await Task.WhenAll(Models.Select(async model => (await server.GenerateAsync(model, new { prompt, max_tokens = 4 })).EnsureSuccessStatusCode()));
    }

    [Fact]
    public async Task Restart_SameLedger_CostCountersContinueInsteadOfDroppingToZero()
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-restart-").FullName;
        double before;
        await using (var first = await RunningServer.StartAsync(RunningServer.DemoSettings(), contentRoot: contentRoot))
        {
            using var response = await first.GenerateAsync("demo-medium", new { prompt = "remember me", max_tokens = 8 });
            response.EnsureSuccessStatusCode();
            before = (await first.ScrapeAsync())["model_estimated_cost_dollars_total{model_name=\"demo-medium\"}"];
        }

        await using var second = await RunningServer.StartAsync(RunningServer.DemoSettings(), contentRoot: contentRoot);
        var samples = await second.ScrapeAsync();

        Assert.True(before > 0);
        Assert.Equal(before, samples["model_estimated_cost_dollars_total{model_name=\"demo-medium\"}"], 12);
        Assert.Equal(1, samples["model_request_total{model_name=\"demo-medium\",endpoint=\"generate\"}"]);
        Assert.True(samples["device_cost_dollars_total{device=\"cpu\"}"] >= before + samples["device_idle_cost_dollars_total{device=\"cpu\"}"] - 1e-9);
        Directory.Delete(contentRoot, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the idle-minute writer collects and commits its minute just before the report asks
    public async Task Summary_WindowEndingNow_AddsUpToTheBillIncludingThisMinutesIdleTime(bool crossingAMinute)
    {
        await using var clock = new RunningClock();
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        (await server.GenerateAsync("demo-small", new { prompt = "now", max_tokens = 4 })).EnsureSuccessStatusCode();
        if (crossingAMinute)
        {
            await clock.StopAsync();
            var toNextMinute = TimeSpan.FromTicks(TimeSpan.TicksPerMinute - clock.Time.GetUtcNow().Ticks % TimeSpan.TicksPerMinute);
            clock.Time.Advance((toNextMinute < TimeSpan.FromSeconds(0.5) ? toNextMinute + TimeSpan.FromMinutes(1) : toNextMinute) - TimeSpan.FromSeconds(0.5));
        }

        clock.Time.Advance(TimeSpan.FromSeconds(1.5)); // idle time that no minute row holds yet (and, crossing, a minute's row being written)

        var summary = await server.Client.GetFromJsonAsync<JsonElement>($"/api/costs/summary?from={Iso(DateTimeOffset.UtcNow.AddHours(-1))}");
        var bill = (await server.ScrapeAsync())["device_cost_dollars_total{device=\"cpu\"}"];

        var total = summary.GetProperty("total_usd").GetDouble();
        Assert.Contains(summary.GetProperty("rows").EnumerateArray(), r => r.GetProperty("key").GetString() == "(idle) cpu");
        // The bill was read a moment after the report, so it may be ahead by that moment's idle time.
        Assert.InRange(total, bill * 0.97, bill * (1 + 1e-9));
    }

    [Theory]
    [InlineData("/api/costs/summary?by=bogus", "by")]
    [InlineData("/api/costs/summary?idle=sometimes", "idle")]
    [InlineData("/api/costs/summary?from=yesterday", "from")]
    [InlineData("/api/costs/summary?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    [InlineData("/api/costs/timeseries?step=1s", "step")]
    public async Task CostApi_BadParameter_Returns400NamingIt(string url, string field)
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(), waitUntilReady: false);

        using var response = await server.Client.GetAsync(url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Forecast_AfterTraffic_ProjectsAtLeastMonthToDate_AtThePaceOfTheLedgersMinutes()
    {
        // Mid-month on a fake clock: the test cannot straddle a month start.
        await using var clock = new RunningClock(new DateTimeOffset(2026, 11, 15, 12, 0, 0, TimeSpan.Zero));
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        using (var response = await server.GenerateAsync("demo-small", new { prompt = "x", max_tokens = 4 }))
        {
            response.EnsureSuccessStatusCode();
        }

        var forecast = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/forecast");

        var monthToDate = forecast.GetProperty("month_to_date_usd").GetDouble();
        Assert.True(monthToDate > 0);
        Assert.True(forecast.GetProperty("projected_month_usd").GetDouble() >= monthToDate);
        // The ledger is minutes old: its pace is over those minutes (as the month so far is), not spread over seven days.
        var days = forecast.GetProperty("trailing_days").GetDouble();
        Assert.InRange(days, 1.0 / 1440, 1.0 / 24);
        Assert.Equal(monthToDate / days, forecast.GetProperty("trailing_7d_daily_usd").GetDouble(), 9);
    }

    private static long IdleMinutes(RunningServer server) =>
        LedgerFile.Rows(server.LedgerPath, "SELECT COUNT(DISTINCT minute_ms) FROM idle", r => r.GetInt64(0)).Single();

    private static string Iso(DateTimeOffset time) => Uri.EscapeDataString(time.ToString("O", CultureInfo.InvariantCulture));
}
