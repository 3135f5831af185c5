using Microsoft.Data.Sqlite;

namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    /// <inheritdoc />
    public CostSummary Summarize(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null)
    {
        using var connection = Open();
        using var snapshot = Snapshot(connection); // requests, idle and provisional rows as of one moment
        var groups = new Dictionary<(string Key, string Device), GroupTotals>();
        foreach (var (table, lo, hi) in Segments(Ms(from), Ms(to), useRollups: by != CostGrouping.User))
        {
            var sql = table == "requests"
                ? $"SELECT {KeyColumn(by, "ended_ms")}, device, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), {DetailSums} FROM requests WHERE ended_ms >= $lo AND ended_ms < $hi AND status != 'provisional'{Filter(filter)} GROUP BY 1, 2"
                : $"SELECT {KeyColumn(by, "bucket_ms")}, device, SUM(requests), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), {DetailSums} FROM {table} WHERE bucket_ms >= $lo AND bucket_ms < $hi{Filter(filter)} GROUP BY 1, 2";
            ForEachRow(connection, sql, lo, hi, filter, reader =>
            {
                var key = (reader.GetString(0), reader.GetString(1));
                groups[key] = groups.GetValueOrDefault(key).Add(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetDouble(5), DetailsAt(reader, 6),
                    reader.GetDouble(9), reader.GetDouble(10));
            });
        }

        var idleByKeyAndDevice = new Dictionary<(string Key, string Device), Allocation.DeviceShare>();
        if (filter is null || filter.IsEmpty)
        {
            ForEachRow(connection, $"SELECT {IdleGroupColumn(by)}, device, SUM(cost_usd), SUM(energy_j), SUM(co2e_g) FROM idle WHERE minute_ms >= $lo AND minute_ms < $hi GROUP BY 1, 2", Ms(from), Ms(to), null,
                reader => idleByKeyAndDevice[(reader.GetString(0), reader.GetString(1))] = new(reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4)));
        }

        var rows = IdleAllocation.Apply(groups, idleByKeyAndDevice, by, idle);
        return new CostSummary(from, to, by, idle, [.. rows, .. Provisional(connection, Ms(from), Ms(to), filter)]);
    }

    /// <summary>
    /// Streams that committed a provisional row and have not ended (or whose process died mid-stream), shown as one
    /// <c>(provisional)</c> row: their count, and no cost, since what they ran is not known until they end.
    /// </summary>
    private IEnumerable<CostSummaryRow> Provisional(SqliteConnection connection, long from, long to, CostFilter? filter)
    {
        long count = 0;
        ForEachRow(connection, $"SELECT COUNT(*) FROM requests WHERE status = 'provisional' AND started_ms >= $lo AND started_ms < $hi{Filter(filter)}", from, to, filter,
            reader => count = reader.GetInt64(0));
        return count == 0 ? [] : [new CostSummaryRow(CostSummaryRow.ProvisionalKey, count, 0, 0, 0, 0)];
    }

    /// <inheritdoc />
    public IReadOnlyList<CostPoint> Timeseries(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null)
    {
        using var connection = Open();
        var stepMs = (long)step.TotalMilliseconds;
        var (table, time) = by == CostGrouping.User ? ("requests", "ended_ms") : ("rollup_minute", "bucket_ms");
        var points = new Dictionary<(string Key, long Bucket), Allocation.DeviceShare>();
        var sql = $"""
            SELECT {KeyColumn(by, time)}, ($lo + (({time} - $lo) / {stepMs}) * {stepMs}), SUM(cost_usd), SUM(energy_j), SUM(co2e_g) FROM {table}
            WHERE {time} >= $lo AND {time} < $hi AND status != 'provisional'{Filter(filter)} GROUP BY 1, 2
            UNION ALL
            SELECT '{CostSummaryRow.IdleKey}', ($lo + ((minute_ms - $lo) / {stepMs}) * {stepMs}), SUM(cost_usd), SUM(energy_j), SUM(co2e_g) FROM idle
            WHERE minute_ms >= $lo AND minute_ms < $hi AND {(filter is null || filter.IsEmpty ? 1 : 0)} = 1 GROUP BY 1, 2
            """;
        ForEachRow(connection, sql, Ceiling(Ms(from), MinuteMs), Ms(to), filter, reader =>
        {
            var key = (reader.GetString(0), reader.GetInt64(1));
            points[key] = points.GetValueOrDefault(key) + new Allocation.DeviceShare(reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4));
        });

        return points.OrderBy(p => p.Key.Bucket).ThenBy(p => p.Key.Key, StringComparer.Ordinal)
            .Select(p => new CostPoint(p.Key.Key, DateTimeOffset.FromUnixTimeMilliseconds(p.Key.Bucket), p.Value.Usd) { EnergyJoules = p.Value.Joules, Co2eGrams = p.Value.Co2eGrams })
            .ToList();
    }

    /// <summary>
    /// Splits [from, to) into the coarsest pieces that add up to it exactly: raw rows for the partial
    /// minutes at the ends, minute totals up to the whole hours, hour totals between.
    /// </summary>
    private static IEnumerable<(string Table, long Lo, long Hi)> Segments(long from, long to, bool useRollups)
    {
        var firstMinute = Ceiling(from, MinuteMs);
        var lastMinute = Floor(to, MinuteMs);
        if (!useRollups || firstMinute >= lastMinute)
        {
            yield return ("requests", from, to);
            yield break;
        }

        if (from < firstMinute)
        {
            yield return ("requests", from, firstMinute);
        }

        var firstHour = Ceiling(firstMinute, HourMs);
        var lastHour = Floor(lastMinute, HourMs);
        if (firstHour < lastHour)
        {
            if (firstMinute < firstHour)
            {
                yield return ("rollup_minute", firstMinute, firstHour);
            }

            yield return ("rollup_hour", firstHour, lastHour);
            if (lastHour < lastMinute)
            {
                yield return ("rollup_minute", lastHour, lastMinute);
            }
        }
        else
        {
            yield return ("rollup_minute", firstMinute, lastMinute);
        }

        if (lastMinute < to)
        {
            yield return ("requests", lastMinute, to);
        }
    }

    private static string KeyColumn(CostGrouping by, string timeColumn) => by switch
    {
        CostGrouping.Model => "model",
        CostGrouping.Endpoint => "endpoint",
        CostGrouping.Tenant => "tenant",
        CostGrouping.User => "user",
        CostGrouping.Device => "device",
        CostGrouping.Day => $"strftime('%Y-%m-%d', {timeColumn} / 1000, 'unixepoch')",
        CostGrouping.Node => "$node",
        _ => throw new ArgumentOutOfRangeException(nameof(by)),
    };

    private static string IdleGroupColumn(CostGrouping by) => by switch
    {
        CostGrouping.Day => "strftime('%Y-%m-%d', minute_ms / 1000, 'unixepoch')",
        CostGrouping.Node => "$node",
        _ => "device",
    };

    /// <summary>The conditions that keep the filter's rows (bound as <c>$model</c> and <c>$tenant</c>); none without a filter.</summary>
    private static string Filter(CostFilter? filter) =>
        (filter?.Model is null ? "" : " AND model = $model") + (filter?.Tenant is null ? "" : " AND tenant = $tenant");

    /// <summary>
    /// A read transaction: every statement of a report in it reads the ledger as of its first, so that rows committed while
    /// the report reads (a request's row, the idle time that excludes it) are in all of its parts or in none.
    /// </summary>
    private static SqliteTransaction Snapshot(SqliteConnection connection) => connection.BeginTransaction(deferred: true);

    private void ForEachRow(SqliteConnection connection, string sql, long lo, long hi, Action<SqliteDataReader> read) => ForEachRow(connection, sql, lo, hi, null, read);

    private void ForEachRow(SqliteConnection connection, string sql, long lo, long hi, CostFilter? filter, Action<SqliteDataReader> read)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$lo", lo);
        command.Parameters.AddWithValue("$hi", hi);
        if (sql.Contains("$node", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("$node", Node);
        }

        if (sql.Contains("$model", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("$model", (object?)filter?.Model ?? DBNull.Value);
        }

        if (sql.Contains("$tenant", StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue("$tenant", (object?)filter?.Tenant ?? DBNull.Value);
        }

        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            read(reader);
        }
    }
}
