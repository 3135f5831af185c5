using Microsoft.Data.Sqlite;

namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    private const string InsertRequest = """
        INSERT INTO requests (request_id, started_ms, ended_ms, model, endpoint, tenant, user, device,
            input_tokens, output_tokens, latency_seconds, ttft_seconds, cost_usd, status, hourly_usd, rate_version, usage_estimated, device_started_ms,
            cached_input_tokens, cache_write_tokens, reasoning_tokens, energy_j, co2e_g)
        VALUES ($id, $started, $ended, $model, $endpoint, $tenant, $user, $device, $in, $out, $latency, $ttft, $cost, $status, $hourly, $version, $estimated, $deviceStarted,
            $cached, $written, $reasoning, $energy, $co2e)
        """;

    private static string UpsertRollup(string table) => $"""
        INSERT INTO {table} (bucket_ms, model, endpoint, tenant, device, status, requests, input_tokens, output_tokens, cost_usd,
            cached_input_tokens, cache_write_tokens, reasoning_tokens, energy_j, co2e_g)
        VALUES ($bucket, $model, $endpoint, $tenant, $device, $status, 1, $in, $out, $cost, $cached, $written, $reasoning, $energy, $co2e)
        ON CONFLICT (bucket_ms, model, endpoint, tenant, device, status) DO UPDATE SET
            requests = requests + 1,
            input_tokens = input_tokens + excluded.input_tokens,
            output_tokens = output_tokens + excluded.output_tokens,
            cost_usd = cost_usd + excluded.cost_usd,
            cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
            cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
            reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
            energy_j = energy_j + excluded.energy_j,
            co2e_g = co2e_g + excluded.co2e_g
        """;

    private const string UpsertIdle = """
        INSERT INTO idle (device, minute_ms, cost_usd, hourly_usd, bill_usd, energy_j, co2e_g, bill_energy_j, bill_co2e_g)
        VALUES ($device, $minute, $cost, $hourly, $bill, $energy, $co2e, $billEnergy, $billCo2e)
        ON CONFLICT (device, minute_ms) DO UPDATE SET
            cost_usd = cost_usd + excluded.cost_usd,
            energy_j = energy_j + excluded.energy_j,
            co2e_g = co2e_g + excluded.co2e_g,
            bill_energy_j = bill_energy_j + excluded.bill_energy_j,
            bill_co2e_g = bill_co2e_g + excluded.bill_co2e_g,
            bill_usd = CASE WHEN bill_usd IS NULL AND excluded.bill_usd IS NULL THEN NULL ELSE COALESCE(bill_usd, 0) + COALESCE(excluded.bill_usd, 0) END
        """;

    /// <inheritdoc />
    public void Append(IReadOnlyList<LedgerRow> requests, IReadOnlyList<IdleRow> idle)
    {
        var connection = _writer ?? throw new InvalidOperationException("Initialize the ledger first.");
        using var transaction = connection.BeginTransaction();
        using (var replace = Command(connection, transaction, "DELETE FROM requests WHERE request_id = $id AND status = 'provisional'", "$id"))
        using (var insert = Command(connection, transaction, InsertRequest, "$id", "$started", "$ended", "$model", "$endpoint", "$tenant", "$user", "$device", "$in", "$out", "$latency", "$ttft", "$cost", "$status", "$hourly", "$version", "$estimated", "$deviceStarted", "$cached", "$written", "$reasoning", "$energy", "$co2e"))
        using (var minutes = Command(connection, transaction, UpsertRollup("rollup_minute"), "$bucket", "$model", "$endpoint", "$tenant", "$device", "$status", "$in", "$out", "$cost", "$cached", "$written", "$reasoning", "$energy", "$co2e"))
        using (var hours = Command(connection, transaction, UpsertRollup("rollup_hour"), "$bucket", "$model", "$endpoint", "$tenant", "$device", "$status", "$in", "$out", "$cost", "$cached", "$written", "$reasoning", "$energy", "$co2e"))
        using (var ship = Command(connection, transaction, "INSERT INTO outbox (request_rowid) VALUES (last_insert_rowid())"))
        {
            foreach (var row in requests)
            {
                var ended = Ms(row.EndedAt);
                Bind(insert, row.RequestId, Ms(row.StartedAt), ended, row.Model, row.Endpoint, row.Tenant, row.User, row.Device,
                    row.InputTokens, row.OutputTokens, row.LatencySeconds, row.TimeToFirstTokenSeconds, row.CostUsd, row.Status, row.HourlyUsd, row.RateVersion, row.UsageEstimated ? 1 : 0, Ms(row.DeviceStartedAt ?? row.StartedAt),
                    row.Details.CachedInput, row.Details.CacheWrite, row.Details.Reasoning, row.EnergyJoules, row.Co2eGrams);
                if (row.IsProvisional)
                {
                    insert.ExecuteNonQuery(); // not in the rollups: it is no cost yet
                    if (_outbox)
                    {
                        ship.ExecuteNonQuery(); // shipped too, so the fleet sees a stream cut by a crash (unless its final row replaces it first)
                    }

                    continue;
                }

                Bind(replace, row.RequestId);
                replace.ExecuteNonQuery();
                insert.ExecuteNonQuery();
                if (_outbox)
                {
                    ship.ExecuteNonQuery(); // right after the insert, before the rollups: last_insert_rowid() is this row
                }

                Bind(minutes, MinuteOf(ended), row.Model, row.Endpoint, row.Tenant, row.Device, row.Status, row.InputTokens, row.OutputTokens, row.CostUsd,
                    row.Details.CachedInput, row.Details.CacheWrite, row.Details.Reasoning, row.EnergyJoules, row.Co2eGrams);
                minutes.ExecuteNonQuery();
                Bind(hours, Floor(ended, HourMs), row.Model, row.Endpoint, row.Tenant, row.Device, row.Status, row.InputTokens, row.OutputTokens, row.CostUsd,
                    row.Details.CachedInput, row.Details.CacheWrite, row.Details.Reasoning, row.EnergyJoules, row.Co2eGrams);
                hours.ExecuteNonQuery();
            }
        }

        using (var upsert = Command(connection, transaction, UpsertIdle, "$device", "$minute", "$cost", "$hourly", "$bill", "$energy", "$co2e", "$billEnergy", "$billCo2e"))
        using (var ship = Command(connection, transaction, "INSERT INTO outbox (idle_device, idle_minute_ms) VALUES ($device, $minute)", "$device", "$minute"))
        {
            foreach (var row in idle)
            {
                Bind(upsert, row.Device, MinuteOf(Ms(row.Minute)), row.CostUsd, row.HourlyUsd, row.BillUsd, row.EnergyJoules, row.Co2eGrams, row.BillJoules, row.BillCo2eGrams);
                upsert.ExecuteNonQuery();
                if (_outbox)
                {
                    Bind(ship, row.Device, MinuteOf(Ms(row.Minute)));
                    ship.ExecuteNonQuery();
                }
            }
        }

        transaction.Commit();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }
}
