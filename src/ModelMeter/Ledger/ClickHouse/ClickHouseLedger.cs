using System.Globalization;
using System.Text.Json;

namespace ModelMeter.Ledger.ClickHouse;

/// <summary>
/// The fleet's ledger in ClickHouse: every replica ships its committed rows here (<see cref="ShipAsync"/>) and reports
/// read all of them, aggregated by ClickHouse. Shipping is idempotent: request rows are keyed by (end time, node,
/// request id) and idle minutes by (minute, node, device) with the replica's outbox sequence as version, in
/// <c>ReplacingMergeTree</c> tables read with <c>FINAL</c>, so a batch sent twice after a timeout counts once.
/// The SQL runs on ClickHouse 18.16 and on current releases (no DateTime64, Map, LowCardinality or TTL).
/// </summary>
public sealed partial class ClickHouseLedger(ClickHouseClient client, string database, TimeProvider? time = null) : ILedgerReports
{
    /// <summary>The schema version this code writes (table <c>schema_version</c>).</summary>
    public const int SchemaVersion = 6;

    private const long HourMs = 3_600_000;

    private string Requests => $"{database}.requests";

    private string Idle => $"{database}.idle";

    private string Hourly => $"{database}.requests_hourly";

    private string Provisional => $"{database}.provisional";

    /// <summary>Creates the database and tables, or migrates them; fails when the schema is newer than this build.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (!IsIdentifier(database))
        {
            throw new ArgumentException($"'{database}' is not a ClickHouse database name (letters, digits, underscores).", nameof(database));
        }

        await client.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {database}", cancellationToken);
        await client.ExecuteAsync($"CREATE TABLE IF NOT EXISTS {database}.schema_version (version UInt32, applied DateTime) ENGINE = MergeTree ORDER BY version", cancellationToken);
        var rows = await client.QueryAsync($"SELECT max(version) AS v FROM {database}.schema_version", cancellationToken);
        var version = rows.Count == 0 ? 0 : rows[0].GetProperty("v").GetInt32();
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"ClickHouse database {database} has ledger schema {version}; this build knows up to {SchemaVersion}.");
        }

        for (var step = version + 1; step <= SchemaVersion; step++)
        {
            foreach (var statement in Migrations(database)[step - 1])
            {
                await MigrateAsync(statement, cancellationToken);
            }

            await client.InsertAsync($"{database}.schema_version", [new { version = step, applied = Iso((time ?? TimeProvider.System).GetUtcNow()) }], cancellationToken);
        }
    }

    /// <summary>
    /// Runs one migration statement. ClickHouse 18.16 has no <c>ADD COLUMN IF NOT EXISTS</c>: a column another replica added
    /// already (before, or at the same time) is left as it is.
    /// </summary>
    private async Task MigrateAsync(string statement, CancellationToken cancellationToken)
    {
        var added = System.Text.RegularExpressions.Regex.Match(statement, @"^ALTER TABLE (\w+)\.(\w+) ADD COLUMN (\w+) ");
        if (added.Success && await HasColumnAsync(added.Groups[2].Value, added.Groups[3].Value, cancellationToken))
        {
            return;
        }

        try
        {
            await client.ExecuteAsync(statement, cancellationToken);
        }
        catch (ClickHouseException) when (added.Success)
        {
            if (!await HasColumnAsync(added.Groups[2].Value, added.Groups[3].Value, cancellationToken))
            {
                throw;
            }
        }
    }

    private async Task<bool> HasColumnAsync(string table, string column, CancellationToken cancellationToken) =>
        (await client.QueryAsync($"SELECT count() AS n FROM system.columns WHERE database = {Literal(database)} AND table = {Literal(table)} AND name = {Literal(column)}", cancellationToken))
            is [var row] && Long(row, "n") > 0;

    /// <summary>
    /// Sends one replica's rows: outbox entries <paramref name="firstSeq"/> to <paramref name="lastSeq"/> of its ledger file
    /// <paramref name="spool"/>. Sending them again
    /// changes no report: raw rows are deduplicated on read, and the hourly totals of a shipment are keyed by its first entry
    /// and versioned by its last, so a repeat replaces them, and a later shipment from the same first entry (it can only
    /// hold more) wins.
    /// </summary>
    public async Task ShipAsync(
        string node, string spool, long firstSeq, long lastSeq, IReadOnlyList<LedgerRow> requests, IReadOnlyList<(IdleRow Row, long Version)> idle, CancellationToken cancellationToken = default)
    {
        var provisional = requests.Where(r => r.IsProvisional).ToList();
        if (provisional.Count > 0)
        {
            // A stream in flight (or cut by a crash): kept apart until its final row arrives, which replaces it in reports.
            await client.InsertAsync(Provisional, provisional.Select(r => new Dictionary<string, object?>
            {
                ["node"] = node, ["request_id"] = r.RequestId, ["started"] = Iso(r.StartedAt), ["started_ms"] = Ms(r.StartedAt),
                ["model"] = r.Model, ["endpoint"] = r.Endpoint, ["tenant"] = r.Tenant, ["user"] = r.User, ["device"] = r.Device,
                ["input_tokens"] = r.InputTokens, ["reserved_usd"] = r.CostUsd,
            }), cancellationToken);
        }

        var final = requests.Where(r => !r.IsProvisional).ToList();
        if (final.Count > 0)
        {
            await client.InsertAsync(Requests, final.Select(r => new Dictionary<string, object?>
            {
                ["node"] = node, ["request_id"] = r.RequestId, ["started_ms"] = Ms(r.StartedAt), ["ended"] = Iso(r.EndedAt), ["ended_ms"] = Ms(r.EndedAt),
                ["model"] = r.Model, ["endpoint"] = r.Endpoint, ["tenant"] = r.Tenant, ["user"] = r.User, ["device"] = r.Device,
                ["input_tokens"] = r.InputTokens, ["output_tokens"] = r.OutputTokens, ["latency_seconds"] = r.LatencySeconds,
                ["ttft_seconds"] = r.TimeToFirstTokenSeconds, ["cost_usd"] = r.CostUsd, ["status"] = r.Status, ["hourly_usd"] = r.HourlyUsd,
                ["rate_version"] = r.RateVersion, ["usage_estimated"] = r.UsageEstimated ? 1 : 0, ["device_started_ms"] = Ms(r.DeviceStartedAt ?? r.StartedAt),
                ["cached_input_tokens"] = r.Details.CachedInput, ["cache_write_tokens"] = r.Details.CacheWrite, ["reasoning_tokens"] = r.Details.Reasoning,
                ["energy_j"] = r.EnergyJoules, ["co2e_g"] = r.Co2eGrams,
            }), cancellationToken);
            await client.InsertAsync(Hourly, final
                .GroupBy(r => (Hour: Floor(Ms(r.EndedAt), HourMs), r.Model, r.Endpoint, r.Tenant, r.Device, r.Status))
                .Select(g => new Dictionary<string, object?>
                {
                    ["hour_ms"] = g.Key.Hour, ["hour"] = Iso(DateTimeOffset.FromUnixTimeMilliseconds(g.Key.Hour)), ["node"] = node, ["spool"] = spool, ["batch"] = firstSeq, ["version"] = lastSeq,
                    ["model"] = g.Key.Model, ["endpoint"] = g.Key.Endpoint, ["tenant"] = g.Key.Tenant, ["device"] = g.Key.Device, ["status"] = g.Key.Status,
                    ["requests"] = g.Count(), ["input_tokens"] = g.Sum(r => (long)r.InputTokens), ["output_tokens"] = g.Sum(r => (long)r.OutputTokens), ["cost_usd"] = g.Sum(r => r.CostUsd),
                    ["cached_input_tokens"] = g.Sum(r => r.Details.CachedInput), ["cache_write_tokens"] = g.Sum(r => r.Details.CacheWrite), ["reasoning_tokens"] = g.Sum(r => r.Details.Reasoning),
                    ["energy_j"] = g.Sum(r => r.EnergyJoules), ["co2e_g"] = g.Sum(r => r.Co2eGrams),
                }), cancellationToken);
        }

        if (idle.Count > 0)
        {
            await client.InsertAsync(Idle, idle.Select(i => new Dictionary<string, object?>
            {
                ["node"] = node, ["device"] = i.Row.Device, ["minute"] = Iso(i.Row.Minute), ["minute_ms"] = Ms(i.Row.Minute),
                ["cost_usd"] = i.Row.CostUsd, ["hourly_usd"] = i.Row.HourlyUsd, ["bill_usd"] = i.Row.BillUsd, ["version"] = i.Version,
                ["energy_j"] = i.Row.EnergyJoules, ["co2e_g"] = i.Row.Co2eGrams, ["bill_energy_j"] = i.Row.BillJoules, ["bill_co2e_g"] = i.Row.BillCo2eGrams,
            }), cancellationToken);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Whole hours are read from the hourly totals, the partial hours at the window's ends from the rows (a report by user
    /// reads rows throughout). Device time is per replica: idle cost is shared among the groups that used the same device
    /// of the same node.
    /// </remarks>
    public async Task<CostSummary> SummarizeAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var (lo, hi) = (Ms(from), Ms(to));
        var (firstHour, lastHour) = (Ceiling(lo, HourMs), Floor(hi, HourMs));
        var useHours = by != CostGrouping.User && firstHour < lastHour;
        var rawWindow = useHours
            ? $"(({Window("ended", lo, firstHour)}) OR ({Window("ended", lastHour, hi)}) OR ({IsShared} AND {Window("ended", firstHour, lastHour)}))"
            : Window("ended", lo, hi);
        var settled = await SettledThroughAsync(cancellationToken);
        var sql = $"""
            SELECT {KeyColumn(by, "ended")} AS k, {DeviceOf} AS d, count() AS n, sum(input_tokens) AS i, sum(output_tokens) AS o, sum({CostOf(settled, SharedDevices)}) AS c,
                   sumIf({CostOf(settled, SharedDevices)}, {IsShared}) AS e, {DetailSums}
            FROM {Requests} FINAL WHERE {rawWindow}{Filter(filter)} GROUP BY k, d
            """;
        if (useHours)
        {
            // Hourly totals hold the replicas' own figures: a shared device's requests are read from the rows throughout.
            sql += $"""

                UNION ALL
                SELECT {KeyColumn(by, "hour")} AS k, concat(node, '/', device) AS d, sum(requests) AS n, sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cost_usd) AS c,
                       toFloat64(0) AS e, {DetailSums}
                FROM {Hourly} FINAL WHERE {Window("hour", firstHour, lastHour)} AND NOT ({IsShared}){Filter(filter)} GROUP BY k, d
                """;
        }

        var groups = new Dictionary<(string Key, string Device), GroupTotals>();
        var estimated = 0.0;
        foreach (var row in await client.QueryAsync(sql, cancellationToken))
        {
            var key = (Text(row, "k"), Text(row, "d"));
            groups[key] = groups.GetValueOrDefault(key).Add(Long(row, "n"), Long(row, "i"), Long(row, "o"), row.GetProperty("c").GetDouble(),
                new Pricing.TokenDetails(Long(row, "ci"), Long(row, "cw"), Long(row, "ri")), row.GetProperty("ej").GetDouble(), row.GetProperty("eg").GetDouble());
            estimated += row.GetProperty("e").GetDouble();
        }

        foreach (var row in SharedDevices.Count == 0 ? [] : await client.QueryAsync($"""
            SELECT {KeyColumn(by, "minute")} AS k, device AS d, sum(cost_usd) AS c
            FROM {SharedCosts} FINAL WHERE {Window("minute", lo, hi)}{Filter(filter)} GROUP BY k, d
            """, cancellationToken))
        {
            var key = (Text(row, "k"), Text(row, "d"));
            groups[key] = groups.GetValueOrDefault(key).Add(0, 0, 0, row.GetProperty("c").GetDouble());
        }

        var idleCost = new Dictionary<(string Key, string Device), Allocation.DeviceShare>();
        var unmetered = new List<CostSummaryRow>();
        if (filter is not { IsEmpty: false })
        {
            foreach (var row in await client.QueryAsync($"""
                SELECT {IdleGroupColumn(by)} AS k, concat(node, '/', device) AS d, sum(cost_usd) AS c, sum(energy_j) AS ej, sum(co2e_g) AS eg
                FROM {Idle} FINAL WHERE {Window("minute", lo, hi)} AND NOT ({IsShared}) GROUP BY k, d
                """, cancellationToken))
            {
                var key = (Text(row, "k"), Text(row, "d"));
                idleCost[key] = idleCost.GetValueOrDefault(key) + new Allocation.DeviceShare(row.GetProperty("c").GetDouble(), row.GetProperty("ej").GetDouble(), row.GetProperty("eg").GetDouble());
            }

            foreach (var row in SharedDevices.Count == 0 ? [] : await client.QueryAsync($"""
                SELECT {SharedIdleGroupColumn(by)} AS k, device AS d, sum(idle_usd) AS c, sum(unmetered_usd) AS u
                FROM {SharedMinutes} FINAL WHERE {Window("minute", lo, hi)} GROUP BY k, d
                """, cancellationToken))
            {
                var key = (Text(row, "k"), Text(row, "d"));
                idleCost[key] = idleCost.GetValueOrDefault(key) + new Allocation.DeviceShare(row.GetProperty("c").GetDouble(), 0, 0);
                if (row.GetProperty("u").GetDouble() is > 0 and var u)
                {
                    unmetered.Add(new CostSummaryRow($"{CostSummaryRow.UnmeteredKey} {key.Item2}", 0, 0, 0, u, 0));
                }
            }
        }

        var rows = IdleAllocation.Apply(groups, idleCost, by, idle);
        return new CostSummary(from, to, by, idle, [.. rows, .. Merge(unmetered), .. await ProvisionalAsync(lo, hi, filter, cancellationToken)])
        {
            EstimatedUsd = estimated,
        };
    }

    /// <summary>
    /// Streams that started in [lo, hi) and whose final row has not arrived (still running, or their process died), as one
    /// <c>(provisional)</c> row: their count and no cost, as the SQLite ledger shows them.
    /// </summary>
    private async Task<IReadOnlyList<CostSummaryRow>> ProvisionalAsync(long lo, long hi, CostFilter? filter, CancellationToken cancellationToken)
    {
        // Only the window's provisional streams are looked up among the final rows: reading every request id since the
        // window's start into one set took seconds (5.6 s of a 30-day summary over 10 M rows, the rest 0.15 s).
        var started = $"{Window("started", lo, hi)}{Filter(filter)}";
        var any = await client.QueryAsync($"SELECT count() AS n FROM {Provisional} FINAL WHERE {started}", cancellationToken);
        if (any.Count == 0 || Long(any[0], "n") == 0)
        {
            return [];
        }

        var rows = await client.QueryAsync($"""
            SELECT count() AS n FROM {Provisional} FINAL
            WHERE {started}
              AND concat(node, '/', request_id) NOT IN (
                SELECT concat(node, '/', request_id) FROM {Requests}
                WHERE ended >= toDateTime({Math.Max(0, Floor(lo, 1000) / 1000)}) AND started_ms >= {lo}
                  AND concat(node, '/', request_id) IN (SELECT concat(node, '/', request_id) FROM {Provisional} WHERE {started}))
            """, cancellationToken);
        var count = rows.Count == 0 ? 0 : Long(rows[0], "n");
        return count == 0 ? [] : [new CostSummaryRow(CostSummaryRow.ProvisionalKey, count, 0, 0, 0, 0)];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CostPoint>> TimeseriesAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var (lo, hi) = (Ceiling(Ms(from), 60_000), Ms(to));
        var stepMs = (long)step.TotalMilliseconds;
        var unfiltered = filter is null || filter.IsEmpty ? 1 : 0;
        var settled = await SettledThroughAsync(cancellationToken);
        var sql = $"""
            SELECT {KeyColumn(by, "ended")} AS k, {lo} + intDiv(ended_ms - {lo}, {stepMs}) * {stepMs} AS b, sum({CostOf(settled, SharedDevices)}) AS c,
                   sum(energy_j) AS ej, sum(co2e_g) AS eg
            FROM {Requests} FINAL WHERE {Window("ended", lo, hi)}{Filter(filter)} GROUP BY k, b
            UNION ALL
            SELECT '{CostSummaryRow.IdleKey}' AS k, {lo} + intDiv(minute_ms - {lo}, {stepMs}) * {stepMs} AS b, sum(cost_usd) AS c, sum(energy_j) AS ej, sum(co2e_g) AS eg
            FROM {Idle} FINAL WHERE {Window("minute", lo, hi)} AND NOT ({IsShared}) AND {unfiltered} = 1 GROUP BY k, b
            """;
        if (SharedDevices.Count > 0)
        {
            sql += $"""

                UNION ALL
                SELECT {KeyColumn(by, "minute")} AS k, {lo} + intDiv(minute_ms - {lo}, {stepMs}) * {stepMs} AS b, sum(cost_usd) AS c, toFloat64(0) AS ej, toFloat64(0) AS eg
                FROM {SharedCosts} FINAL WHERE {Window("minute", lo, hi)}{Filter(filter)} GROUP BY k, b
                UNION ALL
                SELECT '{CostSummaryRow.IdleKey}' AS k, {lo} + intDiv(minute_ms - {lo}, {stepMs}) * {stepMs} AS b, sum(idle_usd) AS c, toFloat64(0) AS ej, toFloat64(0) AS eg
                FROM {SharedMinutes} FINAL WHERE {Window("minute", lo, hi)} AND {unfiltered} = 1 GROUP BY k, b
                UNION ALL
                SELECT '{CostSummaryRow.UnmeteredKey}' AS k, {lo} + intDiv(minute_ms - {lo}, {stepMs}) * {stepMs} AS b, sum(unmetered_usd) AS c, toFloat64(0) AS ej, toFloat64(0) AS eg
                FROM {SharedMinutes} FINAL WHERE {Window("minute", lo, hi)} AND {unfiltered} = 1 GROUP BY k, b HAVING c > 0
                """;
        }

        var rows = await client.QueryAsync(sql, cancellationToken);
        return rows
            .GroupBy(r => (Key: Text(r, "k"), Bucket: Long(r, "b")))
            .Select(g => new CostPoint(g.Key.Key, DateTimeOffset.FromUnixTimeMilliseconds(g.Key.Bucket), g.Sum(r => r.GetProperty("c").GetDouble()))
            {
                EnergyJoules = g.Sum(r => r.GetProperty("ej").GetDouble()),
                Co2eGrams = g.Sum(r => r.GetProperty("eg").GetDouble()),
            })
            .OrderBy(p => p.Start).ThenBy(p => p.Key, StringComparer.Ordinal)
            .ToList();
    }

    /// <inheritdoc />
    public async Task<LedgerStats> StatsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        var (lo, hi) = (Ms(from), Ms(to));
        var endpoints = (await client.QueryAsync($"""
            SELECT model AS m, endpoint AS e, status AS s, count() AS n FROM {Requests} FINAL
            WHERE {Window("ended", lo, hi)} GROUP BY m, e, s ORDER BY m, e, s
            """, cancellationToken))
            .Select(r => new EndpointStats(Text(r, "m"), Text(r, "e"), Text(r, "s"), Long(r, "n"))).ToList();

        // Exact quantiles, rank floor(q × n): the figures the SQLite ledger gives too (the sampling quantile would differ).
        var settled = await SettledThroughAsync(cancellationToken);
        var settledCost = SharedDevices.Count == 0 ? [] : (await client.QueryAsync($"""
            SELECT model AS m, sum(cost_usd) AS c FROM {SharedCosts} FINAL WHERE {Window("minute", lo, hi)} GROUP BY m
            """, cancellationToken)).ToDictionary(r => Text(r, "m"), r => r.GetProperty("c").GetDouble());
        var models = (await client.QueryAsync($"""
            SELECT model AS m, count() AS n, countIf(status != 'ok') AS f, sum(input_tokens) AS i, sum(output_tokens) AS o, sum({CostOf(settled, SharedDevices)}) AS c,
                   countIf(status = 'ok') AS served, quantilesExactIf(0.5, 0.95, 0.99)(latency_seconds, status = 'ok') AS l,
                   countIf(status = 'ok' AND isNotNull(ttft_seconds)) AS firsts,
                   quantileExactIf(0.95)(assumeNotNull(ttft_seconds), status = 'ok' AND isNotNull(ttft_seconds)) AS t
            FROM {Requests} FINAL WHERE {Window("ended", lo, hi)} GROUP BY m ORDER BY m
            """, cancellationToken))
            .Select(r =>
            {
                var served = Long(r, "served") > 0;
                var latency = r.GetProperty("l").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                var model = Text(r, "m");
                return new ModelStats(model, Long(r, "n"), Long(r, "f"), Long(r, "i"), Long(r, "o"), r.GetProperty("c").GetDouble() + settledCost.GetValueOrDefault(model),
                    served ? latency[0] : null, served ? latency[1] : null, served ? latency[2] : null,
                    Long(r, "firsts") > 0 ? r.GetProperty("t").GetDouble() : null);
            }).ToList();
        return new LedgerStats(from, to, models, endpoints);
    }

    /// <inheritdoc />
    public async Task<LedgerActivity> ActivityAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null, CancellationToken cancellationToken = default)
    {
        var (lo, hi, stepMs) = (Ms(from), Ms(to), (long)step.TotalMilliseconds);
        var bucket = $"{lo} + intDiv(ended_ms - {lo}, {stepMs}) * {stepMs}";
        var where = $"{Window("ended", lo, hi)}{Filter(new CostFilter(model, null))}";
        var requests = (await client.QueryAsync(
            $"SELECT {bucket} AS b, model AS m, count() AS n, countIf(status != 'ok') AS f FROM {Requests} FINAL WHERE {where} GROUP BY b, m ORDER BY b, m", cancellationToken))
            .Select(r => new ActivityCount(Time(Long(r, "b")), Text(r, "m"), Long(r, "n"), Long(r, "f"))).ToList();
        var failures = (await client.QueryAsync(
            $"SELECT {bucket} AS b, model AS m, status AS s, count() AS n FROM {Requests} FINAL WHERE {where} AND status != 'ok' GROUP BY b, m, s ORDER BY b, m, s", cancellationToken))
            .Select(r => new ActivityFailure(Time(Long(r, "b")), Text(r, "m"), Text(r, "s"), Long(r, "n"))).ToList();
        var latency = (await client.QueryAsync(
            $"SELECT {bucket} AS b, countIf(status = 'ok') AS served, quantilesExactIf(0.5, 0.95)(latency_seconds, status = 'ok') AS l FROM {Requests} FINAL WHERE {where} GROUP BY b HAVING served > 0 ORDER BY b",
            cancellationToken))
            .Select(r =>
            {
                var l = r.GetProperty("l").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                return new ActivityLatency(Time(Long(r, "b")), Long(r, "served"), l[0], l[1]);
            }).ToList();
        return new LedgerActivity(requests, latency, failures);
    }

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>[lo, hi) on the millisecond column (<c>{time}_ms</c>), with the second-resolution sort key narrowed too so ClickHouse skips parts.</summary>
    private static string Window(string time, long lo, long hi) =>
        $"{time}_ms >= {lo} AND {time}_ms < {hi} AND {time} >= toDateTime({Math.Max(0, Floor(lo, 1000) / 1000)}) AND {time} <= toDateTime({Math.Max(0, hi / 1000)})";

    /// <summary>Keeps the filter's rows. Names are string literals with ClickHouse's escapes (backslash and quote).</summary>
    private static string Filter(CostFilter? filter) =>
        (filter?.Model is { } model ? $" AND model = {Literal(model)}" : "") + (filter?.Tenant is { } tenant ? $" AND tenant = {Literal(tenant)}" : "");

    private static string Literal(string text) => $"'{text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'";

    private static string KeyColumn(CostGrouping by, string time) => by switch
    {
        CostGrouping.Model => "model",
        CostGrouping.Endpoint => "endpoint",
        CostGrouping.Tenant => "tenant",
        CostGrouping.User => "user",
        CostGrouping.Device => "device",
        CostGrouping.Node => "node",
        CostGrouping.Day => $"formatDateTime({time}, '%Y-%m-%d', 'UTC')",
        _ => throw new ArgumentOutOfRangeException(nameof(by)),
    };

    private static string IdleGroupColumn(CostGrouping by) => by switch
    {
        CostGrouping.Day => "formatDateTime(minute, '%Y-%m-%d', 'UTC')",
        CostGrouping.Device => "device",
        CostGrouping.Node => "node",
        _ => "concat(node, '/', device)",
    };

    /// <summary>The idle of a shared device: the day's or the device's when grouped so; by node its own row, since it belongs to no replica.</summary>
    private static string SharedIdleGroupColumn(CostGrouping by) => by switch
    {
        CostGrouping.Day => "formatDateTime(minute, '%Y-%m-%d', 'UTC')",
        CostGrouping.Node => $"concat('{CostSummaryRow.IdleKey} ', device)",
        _ => "device",
    };

    /// <summary>One unmetered row per device.</summary>
    private static IEnumerable<CostSummaryRow> Merge(List<CostSummaryRow> unmetered) =>
        unmetered.GroupBy(r => r.Key).Select(g => new CostSummaryRow(g.Key, 0, 0, 0, g.Sum(r => r.CostUsd), 0));

    private static IReadOnlyList<string[]> Migrations(string db) =>
    [
        [
            $"""
            CREATE TABLE IF NOT EXISTS {db}.requests (
                node String, request_id String, started_ms Int64, ended DateTime, ended_ms Int64,
                model String, endpoint String, tenant String, user String, device String,
                input_tokens UInt32, output_tokens UInt32, latency_seconds Float64, ttft_seconds Nullable(Float64),
                cost_usd Float64, status String, hourly_usd Float64, rate_version Int32, usage_estimated UInt8, device_started_ms Int64)
            ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(ended) ORDER BY (ended, node, request_id)
            """,
            $"""
            CREATE TABLE IF NOT EXISTS {db}.idle (
                node String, device String, minute DateTime, minute_ms Int64,
                cost_usd Float64, hourly_usd Float64, bill_usd Nullable(Float64), version UInt64)
            ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(minute) ORDER BY (minute, node, device)
            """,
        ],
        [
            // Version 2: hourly totals per shipment (its ledger file and first outbox entry, versioned by its last), so
            // reports over long windows read hours; rows shipped before it are totalled once, as shipment 0.
            $"""
            CREATE TABLE IF NOT EXISTS {db}.requests_hourly (
                hour DateTime, hour_ms Int64, node String, spool String, batch Int64, version Int64,
                model String, endpoint String, tenant String, device String, status String,
                requests UInt64, input_tokens UInt64, output_tokens UInt64, cost_usd Float64)
            ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(hour) ORDER BY (hour, node, spool, batch, model, endpoint, tenant, device, status)
            """,
            $"""
            INSERT INTO {db}.requests_hourly
            SELECT toStartOfHour(ended), intDiv(ended_ms, {HourMs}) * {HourMs}, node, '', 0, 0, model, endpoint, tenant, device, status,
                   count(), sum(input_tokens), sum(output_tokens), sum(cost_usd)
            FROM {db}.requests FINAL GROUP BY toStartOfHour(ended), intDiv(ended_ms, {HourMs}) * {HourMs}, node, model, endpoint, tenant, device, status
            """,
        ],
        [
            // Version 3: provisional rows of streams (shipped, so a stream cut by a crash is seen by the fleet), by node and id.
            $"""
            CREATE TABLE IF NOT EXISTS {db}.provisional (
                node String, request_id String, started DateTime, started_ms Int64,
                model String, endpoint String, tenant String, user String, device String, input_tokens UInt32, reserved_usd Float64)
            ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(started) ORDER BY (node, request_id)
            """,
        ],
        // Version 4: shared devices (watermarks, load readings, settled minutes).
        [.. SharedMigration(db)],
        // Version 5: the parts of the tokens a paid API prices apart (cache reads and writes, reasoning); each is included in
        // input_tokens or output_tokens. Older rows: 0.
        [.. DetailColumns($"{db}.requests", "UInt32"), .. DetailColumns($"{db}.requests_hourly", "UInt64")],
        // Version 6: energy (joules) and its carbon (grams of CO2e), split like cost; an idle minute also keeps the device's
        // whole energy in it. Older rows: 0.
        [
            .. Columns($"{db}.requests", "Float64", "energy_j", "co2e_g"),
            .. Columns($"{db}.requests_hourly", "Float64", "energy_j", "co2e_g"),
            .. Columns($"{db}.idle", "Float64", "energy_j", "co2e_g", "bill_energy_j", "bill_co2e_g"),
        ],
    ];

    private static IEnumerable<string> Columns(string table, string type, params string[] names) =>
        names.Select(c => $"ALTER TABLE {table} ADD COLUMN {c} {type} DEFAULT 0");

    private static IEnumerable<string> DetailColumns(string table, string type) =>
        Columns(table, type, "cached_input_tokens", "cache_write_tokens", "reasoning_tokens");

    /// <summary>The detail and energy columns' sums as <c>ci</c>, <c>cw</c>, <c>ri</c>, <c>ej</c> and <c>eg</c>.</summary>
    private const string DetailSums = "sum(cached_input_tokens) AS ci, sum(cache_write_tokens) AS cw, sum(reasoning_tokens) AS ri, sum(energy_j) AS ej, sum(co2e_g) AS eg";

    /// <summary>Whether <paramref name="name"/> can be a database name as ModelMeter writes it into SQL: letters, digits and underscores, not starting with a digit.</summary>
    public static bool IsIdentifier(string name) => name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !char.IsAsciiDigit(name[0]);

    private static string Text(JsonElement row, string name) => row.GetProperty(name).GetString() ?? "";

    private static long Long(JsonElement row, string name) => row.GetProperty(name) is { ValueKind: JsonValueKind.String } s
        ? long.Parse(s.GetString()!, CultureInfo.InvariantCulture)
        : row.GetProperty(name).GetInt64();

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static long Floor(long ms, long unit) => ms - (((ms % unit) + unit) % unit);

    private static long Ceiling(long ms, long unit) => Floor(ms, unit) == ms ? ms : Floor(ms, unit) + unit;
}
