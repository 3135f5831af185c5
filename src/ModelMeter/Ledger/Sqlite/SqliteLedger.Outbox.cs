using Microsoft.Data.Sqlite;

namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    /// <summary>
    /// The oldest rows of the outbox, in commit order, at most <paramref name="limit"/> entries: request rows as committed
    /// and idle minutes as they stand now (an idle minute noted several times comes once, with the sequence of its last note).
    /// Empty when nothing waits. Acknowledge with <see cref="AcknowledgeOutbox"/> once they are shipped.
    /// </summary>
    public OutboxBatch ReadOutbox(int limit)
    {
        using var connection = Open();
        var requests = new List<LedgerRow>();
        var idle = new Dictionary<(string Device, long Minute), (IdleRow Row, long Seq)>();
        long first = 0, last = 0;
        var entries = 0;
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT o.seq, o.idle_device, o.idle_minute_ms,
                   r.request_id, r.started_ms, r.ended_ms, r.model, r.endpoint, r.tenant, r.user, r.device, r.input_tokens, r.output_tokens,
                   r.latency_seconds, r.ttft_seconds, r.cost_usd, r.status, r.hourly_usd, r.rate_version, r.usage_estimated, r.device_started_ms,
                   i.cost_usd, i.hourly_usd, i.bill_usd, r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens,
                   r.energy_j, r.co2e_g, i.energy_j, i.co2e_g, i.bill_energy_j, i.bill_co2e_g
            FROM (SELECT * FROM outbox ORDER BY seq LIMIT $limit) o
            LEFT JOIN requests r ON r.id = o.request_rowid
            LEFT JOIN idle i ON i.device = o.idle_device AND i.minute_ms = o.idle_minute_ms
            ORDER BY o.seq
            """;
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            last = reader.GetInt64(0);
            first = entries++ == 0 ? last : first;
            if (!reader.IsDBNull(1))
            {
                if (!reader.IsDBNull(21))
                {
                    var key = (reader.GetString(1), reader.GetInt64(2));
                    var row = new IdleRow(key.Item1, DateTimeOffset.FromUnixTimeMilliseconds(key.Item2), reader.GetDouble(21), reader.GetDouble(22))
                    {
                        BillUsd = reader.IsDBNull(23) ? null : reader.GetDouble(23),
                        EnergyJoules = reader.GetDouble(29), Co2eGrams = reader.GetDouble(30), BillJoules = reader.GetDouble(31), BillCo2eGrams = reader.GetDouble(32),
                    };
                    idle[key] = (row, last);
                }
            }
            else if (!reader.IsDBNull(3))
            {
                requests.Add(new LedgerRow(
                    reader.GetString(3), Time(reader.GetInt64(4)), Time(reader.GetInt64(5)), reader.GetString(6), reader.GetString(7), reader.GetString(8),
                    reader.GetString(9), reader.GetString(10), reader.GetInt32(11), reader.GetInt32(12), reader.GetDouble(13),
                    reader.IsDBNull(14) ? null : reader.GetDouble(14), reader.GetDouble(15), reader.GetString(16), reader.GetDouble(17), reader.GetInt32(18))
                {
                    UsageEstimated = reader.GetInt64(19) != 0,
                    DeviceStartedAt = reader.IsDBNull(20) ? null : Time(reader.GetInt64(20)),
                    Details = DetailsAt(reader, 24),
                    EnergyJoules = reader.GetDouble(27),
                    Co2eGrams = reader.GetDouble(28),
                });
            }
        }

        return new OutboxBatch(first, last, entries, requests, [.. idle.Values.Select(v => new ShippedIdleRow(v.Row, v.Seq))]);
    }

    /// <summary>This file's random id (made with the schema): names its shipments in the fleet ledger.</summary>
    public string SpoolId
    {
        get
        {
            using var connection = Open();
            return (string)Scalar(connection, "SELECT value FROM ledger_meta WHERE key = 'spool'")!;
        }
    }

    /// <summary>Removes the outbox entries up to and including <paramref name="lastSeq"/>: they are shipped.</summary>
    public void AcknowledgeOutbox(long lastSeq)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM outbox WHERE seq <= $last";
        command.Parameters.AddWithValue("$last", lastSeq);
        command.ExecuteNonQuery();
    }

    /// <summary>When the oldest row still waiting in the outbox ended (idle: its minute); null when nothing waits.</summary>
    public DateTimeOffset? OldestUnshipped()
    {
        using var connection = Open();
        // An entry whose row is gone (a provisional row its final row replaced) waits for nothing: skipped.
        var value = Scalar(connection, """
            SELECT COALESCE(r.ended_ms, o.idle_minute_ms) FROM outbox o
            LEFT JOIN requests r ON r.id = o.request_rowid
            WHERE r.id IS NOT NULL OR o.idle_device IS NOT NULL
            ORDER BY o.seq LIMIT 1
            """);
        return value is long ms ? Time(ms) : null;
    }

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>Rows waiting to be shipped: <see cref="Entries"/> outbox entries from <see cref="FirstSeq"/> to <see cref="LastSeq"/> (0: none).</summary>
public sealed record OutboxBatch(long FirstSeq, long LastSeq, int Entries, IReadOnlyList<LedgerRow> Requests, IReadOnlyList<ShippedIdleRow> Idle)
{
    /// <summary>Whether nothing waits.</summary>
    public bool IsEmpty => LastSeq == 0;
}

/// <summary>An idle minute as it stands, with the outbox sequence of its last change (later changes win downstream).</summary>
public sealed record ShippedIdleRow(IdleRow Row, long Seq);
