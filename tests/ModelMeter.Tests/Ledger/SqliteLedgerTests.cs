using Microsoft.Data.Sqlite;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Tests.Ledger;

public sealed class SqliteLedgerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("modelmeter-ledger-").FullName;
    private readonly SqliteLedger _ledger;

    public SqliteLedgerTests()
    {
        _ledger = new SqliteLedger(Path.Combine(_directory, "data", "ledger.db"));
        _ledger.Initialize();
    }

    public void Dispose()
    {
        _ledger.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Initialize_NewFile_UsesWalAndRecordsSchemaVersion()
    {
        using var connection = new SqliteConnection($"Data Source={_ledger.Path};Pooling=false");
        connection.Open();

        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal((long)SqliteLedger.SchemaVersion, Scalar(connection, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Summarize_WhileRowsAreCommitted_ReadsTheLedgerAsOfOneMoment()
    {
        // Each commit holds a request row and an idle row of the same cost, so at any one moment the ledger's request total
        // equals its idle total. A summary reads raw rows, hour totals and idle rows in statements of their own: they must
        // all see the same commits.
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var at = T0.AddSeconds(i % 3600);
                _ledger.Append([Row("a", at, 1)], [new IdleRow("gpu0", at, 1, 2.5)]);
            }
        });
        try
        {
            for (var read = 0; read < 3000; read++)
            {
                var summary = _ledger.Summarize(T0.AddSeconds(-30), T0.AddHours(1).AddSeconds(30), CostGrouping.Model, IdleSharing.Separate);

                Assert.Equal(summary.Rows.Where(r => !r.IsIdle).Sum(r => r.CostUsd), summary.Rows.Where(r => r.IsIdle).Sum(r => r.IdleUsd));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await writer;
        }
    }

    [Fact]
    public void Initialize_Twice_KeepsRows()
    {
        _ledger.Append([Row("a", T0, 1)], []);
        using var reopened = new SqliteLedger(_ledger.Path);
        reopened.Initialize();

        Assert.Equal(1, reopened.Summarize(T0.AddHours(-1), T0.AddHours(1), CostGrouping.Model, IdleSharing.Separate).Rows.Single().Requests);
    }

    [Fact]
    public void Summarize_WindowWithPartialMinutes_EqualsSumOfRowsInWindow()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 2000).Select(i => Row(random.Next(3) switch { 0 => "a", 1 => "b", _ => "c" }, T0.AddMilliseconds(random.Next(0, 3_600_000)), random.NextDouble())).ToList();
        _ledger.Append(rows, []);
        var from = T0.AddSeconds(1234.567);
        var to = T0.AddSeconds(2999.001);

        var summary = _ledger.Summarize(from, to, CostGrouping.Model, IdleSharing.Separate);

        foreach (var model in new[] { "a", "b", "c" })
        {
            var expected = rows.Where(r => r.Model == model && r.EndedAt >= from && r.EndedAt < to).ToArray();
            var row = summary.Rows.Single(r => r.Key == model);
            Assert.Equal(expected.Length, row.Requests);
            Assert.Equal(expected.Sum(r => r.CostUsd), row.CostUsd, 9);
            Assert.Equal(expected.Sum(r => r.OutputTokens), row.OutputTokens);
        }
    }

    [Theory]
    [InlineData(CostGrouping.Model)]
    [InlineData(CostGrouping.Tenant)]
    [InlineData(CostGrouping.User)]
    [InlineData(CostGrouping.Day)]
    public void Summarize_WindowOverHoursWithRaggedEdges_EqualsSumOfRowsInWindow(CostGrouping by)
    {
        var random = new Random(11);
        var rows = Enumerable.Range(0, 5000).Select(i => Row("m" + random.Next(3), T0.AddMilliseconds(random.Next(0, 6 * 3_600_000)), random.NextDouble())
            with { Tenant = "t" + random.Next(4), User = "u" + random.Next(7) }).ToList();
        _ledger.Append(rows, []);
        var from = T0.AddHours(1).AddMinutes(17).AddSeconds(23.5);
        var to = T0.AddHours(4).AddMinutes(42).AddSeconds(11);
        Func<LedgerRow, string> key = by switch
        {
            CostGrouping.Model => r => r.Model,
            CostGrouping.Tenant => r => r.Tenant,
            CostGrouping.User => r => r.User,
            _ => r => r.EndedAt.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        };

        var summary = _ledger.Summarize(from, to, by, IdleSharing.Separate);

        var expected = rows.Where(r => r.EndedAt >= from && r.EndedAt < to).GroupBy(key).ToDictionary(g => g.Key);
        Assert.Equal(expected.Keys.Order(), summary.Rows.Select(r => r.Key).Order());
        foreach (var row in summary.Rows)
        {
            Assert.Equal(expected[row.Key].Count(), row.Requests);
            Assert.Equal(expected[row.Key].Sum(r => r.CostUsd), row.CostUsd, 9);
        }
    }

    [Theory]
    [InlineData(0)] // an application's own database
    [InlineData(3)] // one that numbers its own schema as the ledger does
    public void Initialize_ADatabaseOfSomethingElse_IsRefusedAndLeftAsItWas(int userVersion)
    {
        var path = Path.Combine(_directory, "app.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            connection.Open();
            Execute(connection, $"CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a'); PRAGMA user_version={userVersion};");
        }

        using var ledger = new SqliteLedger(path);
        var refused = Assert.Throws<InvalidOperationException>(ledger.Initialize);
        ledger.Dispose();

        Assert.Contains("is a SQLite database of something else, not a ledger", refused.Message);
        using var check = new SqliteConnection($"Data Source={path};Pooling=false");
        check.Open();
        Assert.Equal("users", Scalar(check, "SELECT group_concat(name) FROM sqlite_master"));
        Assert.Equal((long)userVersion, Scalar(check, "PRAGMA user_version"));
        Assert.Equal("delete", Scalar(check, "PRAGMA journal_mode"));
    }

    [Fact]
    public void Initialize_WithoutCreate_AnEmptyFile_IsRefusedAndStaysEmpty()
    {
        var path = Path.Combine(_directory, "empty.db");
        File.WriteAllBytes(path, []);
        using var ledger = new SqliteLedger(path);

        var refused = Assert.Throws<InvalidOperationException>(() => ledger.Initialize(create: false));

        Assert.Contains("holds no ledger", refused.Message);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void Initialize_WithoutCreate_AnExistingLedger_Opens()
    {
        _ledger.Append([Row("a", T0, 1)], []);
        using var reopened = new SqliteLedger(_ledger.Path);
        reopened.Initialize(create: false);

        Assert.Equal(1, reopened.Summarize(T0.AddHours(-1), T0.AddHours(1), CostGrouping.Model, IdleSharing.Separate).Rows.Single().Requests);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [Fact]
    public void Initialize_VersionOneFile_MigratesToTheCurrentSchemaKeepingRows()
    {
        var path = Path.Combine(_directory, "v1.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            connection.Open();
            foreach (var sql in new[]
            {
                "CREATE TABLE requests (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, tenant TEXT NOT NULL, user TEXT NOT NULL, device TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, latency_seconds REAL NOT NULL, ttft_seconds REAL, cost_usd REAL NOT NULL, status TEXT NOT NULL, hourly_usd REAL NOT NULL)",
                "CREATE INDEX requests_by_end ON requests (ended_ms)",
                "CREATE TABLE idle (device TEXT NOT NULL, minute_ms INTEGER NOT NULL, cost_usd REAL NOT NULL, hourly_usd REAL NOT NULL, PRIMARY KEY (device, minute_ms))",
                "CREATE TABLE rollup_minute (bucket_ms INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, tenant TEXT NOT NULL, device TEXT NOT NULL, status TEXT NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, PRIMARY KEY (bucket_ms, model, endpoint, tenant, device, status))",
                $"INSERT INTO requests VALUES (1, 'r1', {T0.ToUnixTimeMilliseconds()}, {T0.AddHours(3).ToUnixTimeMilliseconds()}, 'a', 'generate', 'acme', '', 'gpu0', 1, 2, 1, NULL, 0.75, 'ok', 2.5)",
                "PRAGMA user_version=1",
            })
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.ExecuteNonQuery();
            }
        }

        using var ledger = new SqliteLedger(path);
        ledger.Initialize();

        using (var check = new SqliteConnection($"Data Source={path};Pooling=false"))
        {
            check.Open();
            Assert.Equal((long)SqliteLedger.SchemaVersion, Scalar(check, "PRAGMA user_version"));
        }

        // Hours 1..5 are whole hours: the answer comes from the new hourly rollup, filled from the old rows.
        Assert.Equal(0.75, ledger.Summarize(T0.AddHours(1), T0.AddHours(5), CostGrouping.Model, IdleSharing.Separate).Rows.Single().CostUsd, 12);
        ledger.Append([Row("a", T0.AddHours(6), 1)], []); // and the new column takes rows
        using var read = new SqliteConnection($"Data Source={path};Pooling=false");
        read.Open();
        Assert.Equal(-1L, Scalar(read, "SELECT rate_version FROM requests WHERE request_id = 'r1'"));
    }

    [Fact]
    public void TokenDetails_KeptInRowsRollupsOutboxAndTotals()
    {
        using var fleet = new SqliteLedger(Path.Combine(_directory, "fleet.db"), outbox: true);
        fleet.Initialize();
        var details = new ModelMeter.Pricing.TokenDetails(CachedInput: 7, CacheWrite: 2, Reasoning: 5);
        fleet.Append([Row("a", T0.AddMinutes(30), 1) with { Details = details }, Row("a", T0.AddHours(2).AddMinutes(30), 1) with { Details = details }, Row("a", T0.AddHours(2).AddMinutes(40), 1)], []);

        // Partial minutes (raw rows), whole minutes and whole hours (rollups) all carry the details.
        foreach (var (from, to) in new[] { (T0.AddSeconds(1), T0.AddHours(3)), (T0, T0.AddHours(4)), (T0.AddMinutes(29).AddSeconds(30), T0.AddMinutes(30).AddSeconds(1)) })
        {
            var row = fleet.Summarize(from, to, CostGrouping.Model, IdleSharing.Separate).Rows.Single();
            var expected = from == T0.AddMinutes(29).AddSeconds(30) ? details : details.Add(details);
            Assert.Equal(expected, row.Details);
        }

        Assert.Equal(details, fleet.ReadOutbox(10).Requests[0].Details);
        var totals = fleet.Totals();
        Assert.Equal((14L, 4L, 10L), (totals.TokensByModel[("a", "cached_input")], totals.TokensByModel[("a", "cache_write")], totals.TokensByModel[("a", "reasoning")]));
        Assert.Equal(30L, totals.TokensByModel[("a", "input")]);
    }

    [Theory]
    [InlineData(IdleSharing.Separate)]
    [InlineData(IdleSharing.Proportional)]
    [InlineData(IdleSharing.Even)]
    public void Summarize_IdleSharing_KeepsTheTotalAndSharesAsAsked(IdleSharing sharing)
    {
        _ledger.Append([Row("a", T0.AddSeconds(10), 3), Row("b", T0.AddSeconds(20), 1)], [new IdleRow("gpu0", T0, 4, 2.5), new IdleRow("cpu", T0, 2, 0.17)]);

        var summary = _ledger.Summarize(T0, T0.AddMinutes(1), CostGrouping.Model, sharing);

        Assert.Equal(10, summary.TotalUsd, 9);
        var a = summary.Rows.Single(r => r.Key == "a");
        Assert.Equal(2, summary.Rows.Single(r => r.Key == "(idle) cpu").IdleUsd, 9); // nobody used the cpu
        switch (sharing)
        {
            case IdleSharing.Separate:
                Assert.Equal(4, summary.Rows.Single(r => r.Key == "(idle) gpu0").IdleUsd, 9);
                Assert.Equal(0, a.IdleUsd);
                break;
            case IdleSharing.Proportional:
                Assert.Equal(3, a.IdleUsd, 9);
                break;
            case IdleSharing.Even:
                Assert.Equal(2, a.IdleUsd, 9);
                break;
        }
    }

    [Fact]
    public void Summarize_ByDay_PutsRequestsAndIdleInTheirUtcDay()
    {
        _ledger.Append([Row("a", T0, 1), Row("a", T0.AddDays(1), 2)], [new IdleRow("gpu0", T0.AddDays(1), 0.5, 2.5)]);

        var days = _ledger.Summarize(T0.AddDays(-1), T0.AddDays(2), CostGrouping.Day, IdleSharing.Separate).Rows.ToDictionary(r => r.Key);

        Assert.Equal(1, days["2026-11-01"].TotalUsd, 9);
        Assert.Equal(2.5, days["2026-11-02"].TotalUsd, 9);
    }

    [Fact]
    public void Timeseries_HourlySteps_SumsEachBucket()
    {
        _ledger.Append([Row("a", T0.AddMinutes(5), 1), Row("a", T0.AddMinutes(50), 2), Row("a", T0.AddMinutes(70), 4)], [new IdleRow("gpu0", T0.AddMinutes(61), 8, 2.5)]);

        var points = _ledger.Timeseries(T0, T0.AddHours(2), CostGrouping.Model, TimeSpan.FromHours(1));

        Assert.Equal(3, points.Single(p => p.Key == "a" && p.Start == T0).CostUsd, 9);
        Assert.Equal(4, points.Single(p => p.Key == "a" && p.Start == T0.AddHours(1)).CostUsd, 9);
        Assert.Equal(8, points.Single(p => p.Key == "(idle)").CostUsd, 9);
    }

    [Fact]
    public void Reprice_RateDoubledFromADate_ScalesLaterRowsOnly()
    {
        _ledger.Append([Row("a", T0, 1), Row("a", T0.AddHours(2), 1)], [new IdleRow("gpu0", T0.AddHours(2), 0.5, 2.5)]);

        var result = _ledger.Reprice(T0.AddHours(1), (device, at) => (5.0, 1));

        Assert.Equal(2, result.RowsChanged);
        Assert.Equal(1.5, result.OldTotalUsd, 9);
        Assert.Equal(3, result.NewTotalUsd, 9);
        var summary = _ledger.Summarize(T0.AddHours(-1), T0.AddHours(3), CostGrouping.Model, IdleSharing.Separate);
        Assert.Equal(3, summary.Rows.Single(r => r.Key == "a").CostUsd, 9);
        Assert.Equal(1, summary.Rows.Single(r => r.Key == "(idle) gpu0").IdleUsd, 9);
        using var connection = new SqliteConnection($"Data Source={_ledger.Path};Pooling=false");
        connection.Open();
        Assert.Equal(1L, Scalar(connection, $"SELECT rate_version FROM requests WHERE ended_ms = {T0.AddHours(2).ToUnixTimeMilliseconds()}"));
        Assert.Equal(5.0, Scalar(connection, $"SELECT hourly_usd FROM requests WHERE ended_ms = {T0.AddHours(2).ToUnixTimeMilliseconds()}"));
    }

    [Fact]
    public void Reprice_UnchangedRates_ChangesNoRow()
    {
        _ledger.Append([Row("a", T0, 0.1), Row("a", T0.AddMinutes(5), 0.7) with { HourlyUsd = 3 }], [new IdleRow("gpu0", T0, 0.3, 2.5)]);

        var result = _ledger.Reprice(T0.AddHours(-1), (device, at) => (at < T0.AddMinutes(2) ? 2.5 : 3, 0));

        Assert.Equal(0, result.RowsChanged);
        Assert.Equal(result.OldTotalUsd, result.NewTotalUsd);
    }

    [Fact]
    public void Reprice_RateChangeAtAMinuteBoundary_RepricesExactlyTheRowsAfterIt()
    {
        var change = T0.AddMinutes(10);
        var queuedAcrossTheChange = Row("a", change.AddSeconds(30), 1) with { StartedAt = change.AddSeconds(-20), DeviceStartedAt = change.AddSeconds(5) };
        _ledger.Append(
            [Row("a", change.AddSeconds(-1), 1), queuedAcrossTheChange, Row("a", change.AddMinutes(3), 1)],
            [new IdleRow("gpu0", change.AddMinutes(-1), 0.5, 2.5), new IdleRow("gpu0", change, 0.5, 2.5)]);

        // The rate doubles at the change: rows on the device from then on (by device start, not arrival) and idle minutes from then on.
        var result = _ledger.Reprice(T0, (device, at) => at < change ? (2.5, 0) : (5.0, 1));

        Assert.Equal(3, result.RowsChanged); // two requests and one idle minute
        Assert.Equal(4, result.OldTotalUsd, 9);
        Assert.Equal(1 + 2 + 2 + 0.5 + 1, result.NewTotalUsd, 9);
    }

    [Fact]
    public void Totals_SeedValues_CountServedRequestsAndAllCost()
    {
        _ledger.Append([Row("a", T0, 1), Row("a", T0, 2) with { Status = "client_closed" }], [new IdleRow("gpu0", T0, 0.25, 2.5)]);

        var totals = _ledger.Totals();

        Assert.Equal(3, totals.CostUsdByModel["a"], 9);
        Assert.Equal(1, totals.ServedByModelEndpoint[("a", "generate")]);
        Assert.Equal(0.25, totals.IdleUsdByDevice["gpu0"], 9);
        Assert.Equal(3, totals.RequestCostUsdByDevice["gpu0"], 9);
    }

    internal static LedgerRow Row(string model, DateTimeOffset endedAt, double costUsd) =>
        new($"req_{Guid.NewGuid():N}", endedAt.AddSeconds(-1), endedAt, model, "generate", "acme", "u1", "gpu0", 10, 20, 1, 0.1, costUsd, "ok", 2.5);

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
