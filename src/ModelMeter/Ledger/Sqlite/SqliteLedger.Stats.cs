namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    /// <inheritdoc />
    /// <remarks>Reads request rows (not the rollups): quantiles need them. Each quantile is one ordered read per model.</remarks>
    public LedgerStats Stats(DateTimeOffset from, DateTimeOffset to)
    {
        using var connection = Open();
        using var snapshot = Snapshot(connection); // the counts by endpoint and the per-model figures of the same rows
        var (lo, hi) = (Ms(from), Ms(to));
        var endpoints = new List<EndpointStats>();
        ForEachRow(connection, """
            SELECT model, endpoint, status, COUNT(*) FROM requests
            WHERE ended_ms >= $lo AND ended_ms < $hi AND status != 'provisional' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, lo, hi, r => endpoints.Add(new EndpointStats(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3))));

        var models = new List<ModelStats>();
        var totals = new List<(string Model, long Requests, long Failed, long In, long Out, double Cost, long Served, long WithFirstToken)>();
        ForEachRow(connection, """
            SELECT model, COUNT(*), SUM(status != 'ok'), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd),
                   SUM(status = 'ok'), SUM(status = 'ok' AND ttft_seconds IS NOT NULL)
            FROM requests WHERE ended_ms >= $lo AND ended_ms < $hi AND status != 'provisional' GROUP BY 1 ORDER BY 1
            """, lo, hi, r => totals.Add((r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetDouble(5), r.GetInt64(6), r.GetInt64(7))));
        foreach (var t in totals)
        {
            models.Add(new ModelStats(t.Model, t.Requests, t.Failed, t.In, t.Out, t.Cost,
                Quantile(connection, "latency_seconds", t.Model, t.Served, 0.50, lo, hi),
                Quantile(connection, "latency_seconds", t.Model, t.Served, 0.95, lo, hi),
                Quantile(connection, "latency_seconds", t.Model, t.Served, 0.99, lo, hi),
                Quantile(connection, "ttft_seconds", t.Model, t.WithFirstToken, 0.95, lo, hi)));
        }

        return new LedgerStats(from, to, models, endpoints);
    }

    /// <summary>
    /// The <paramref name="q"/> quantile of a column over the model's served requests: the value at 0-based rank
    /// floor(q × n) of the sorted values (as ClickHouse's <c>quantileExact</c>); null when there are none.
    /// </summary>
    private static double? Quantile(Microsoft.Data.Sqlite.SqliteConnection connection, string column, string model, long count, double q, long lo, long hi)
    {
        if (count == 0)
        {
            return null;
        }

        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {column} FROM requests
            WHERE model = $model AND ended_ms >= $lo AND ended_ms < $hi AND status = 'ok' AND {column} IS NOT NULL
            ORDER BY {column} LIMIT 1 OFFSET $offset
            """;
        command.Parameters.AddWithValue("$model", model);
        command.Parameters.AddWithValue("$lo", lo);
        command.Parameters.AddWithValue("$hi", hi);
        command.Parameters.AddWithValue("$offset", Math.Min(count - 1, (long)Math.Floor(q * count)));
        return command.ExecuteScalar() is double value ? value : null;
    }

    /// <inheritdoc />
    /// <remarks>Latency quantiles read the served rows of the window in order, bucket by bucket (at most <see cref="MaxLatencyRows"/> of them).</remarks>
    public LedgerActivity Activity(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null)
    {
        using var connection = Open();
        using var snapshot = Snapshot(connection);
        var (lo, hi, stepMs) = (Ms(from), Ms(to), (long)step.TotalMilliseconds);
        var filter = new CostFilter(model, null);
        var bucket = $"($lo + ((ended_ms - $lo) / {stepMs}) * {stepMs})";
        var window = $"ended_ms >= $lo AND ended_ms < $hi AND status != 'provisional'{Filter(filter)}";
        var requests = new List<ActivityCount>();
        ForEachRow(connection, $"SELECT {bucket}, model, COUNT(*), SUM(status != 'ok') FROM requests WHERE {window} GROUP BY 1, 2 ORDER BY 1, 2", lo, hi, filter,
            r => requests.Add(new ActivityCount(Time(r.GetInt64(0)), r.GetString(1), r.GetInt64(2), r.GetInt64(3))));
        var failures = new List<ActivityFailure>();
        ForEachRow(connection, $"SELECT {bucket}, model, status, COUNT(*) FROM requests WHERE {window} AND status != 'ok' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", lo, hi, filter,
            r => failures.Add(new ActivityFailure(Time(r.GetInt64(0)), r.GetString(1), r.GetString(2), r.GetInt64(3))));

        var latency = new List<ActivityLatency>();
        var values = new List<double>();
        long? current = null;
        void Close()
        {
            if (current is { } start && values.Count > 0)
            {
                latency.Add(new ActivityLatency(Time(start), values.Count, values[(int)Math.Floor(0.5 * values.Count)], values[Math.Min(values.Count - 1, (int)Math.Floor(0.95 * values.Count))]));
            }

            values.Clear();
        }

        ForEachRow(connection, $"SELECT {bucket}, latency_seconds FROM requests WHERE {window} AND status = 'ok' ORDER BY 1, 2 LIMIT {MaxLatencyRows}", lo, hi, filter, r =>
        {
            var start = r.GetInt64(0);
            if (start != current)
            {
                Close();
                current = start;
            }

            values.Add(r.GetDouble(1));
        });
        Close();
        return new LedgerActivity(requests, latency, failures);
    }

    /// <summary>The most served rows an activity report reads for its latency quantiles.</summary>
    private const int MaxLatencyRows = 2_000_000;
}
