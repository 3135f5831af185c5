namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    /// <inheritdoc />
    /// <remarks>Reads request rows (not the rollups): quantiles need them. Each quantile is one ordered read per model.</remarks>
    public LedgerStats Stats(DateTimeOffset from, DateTimeOffset to)
    {
        using var connection = Open();
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
}
