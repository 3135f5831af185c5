using Microsoft.Data.Sqlite;
using ModelMeter.Pricing;

namespace ModelMeter.Ledger.Sqlite;

public sealed partial class SqliteLedger
{
    /// <inheritdoc />
    public LedgerTotals Totals()
    {
        using var connection = Open();
        var cost = new Dictionary<string, double>(StringComparer.Ordinal);
        var served = new Dictionary<(string, string), long>();
        var tokens = new Dictionary<(string, string), long>();
        var tenantCost = new Dictionary<(string, string), double>();
        var requestCostByDevice = new Dictionary<string, double>(StringComparer.Ordinal);
        var energyByModel = new Dictionary<string, Allocation.DeviceShare>(StringComparer.Ordinal);
        ForEachRow(connection, $"""
            SELECT model, endpoint, tenant, device, status, SUM(requests), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd),
                   {DetailSums}
            FROM rollup_hour WHERE bucket_ms >= $lo AND bucket_ms < $hi GROUP BY 1, 2, 3, 4, 5
            """, long.MinValue, long.MaxValue, r =>
        {
            var (model, endpoint, tenant, device) = (r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3));
            var costUsd = r.GetDouble(8);
            cost[model] = cost.GetValueOrDefault(model) + costUsd;
            tenantCost[(model, tenant)] = tenantCost.GetValueOrDefault((model, tenant)) + costUsd;
            requestCostByDevice[device] = requestCostByDevice.GetValueOrDefault(device) + costUsd;
            foreach (var (direction, column) in TokenColumns)
            {
                tokens[(model, direction)] = tokens.GetValueOrDefault((model, direction)) + r.GetInt64(column);
            }

            energyByModel[model] = energyByModel.GetValueOrDefault(model) + new Allocation.DeviceShare(0, r.GetDouble(12), r.GetDouble(13));
            if (r.GetString(4) == "ok")
            {
                served[(model, endpoint)] = served.GetValueOrDefault((model, endpoint)) + r.GetInt64(5);
            }
        });

        var idle = new Dictionary<string, double>(StringComparer.Ordinal);
        var energyByDevice = new Dictionary<string, (Allocation.DeviceShare Bill, Allocation.DeviceShare Idle)>(StringComparer.Ordinal);
        ForEachRow(connection, "SELECT device, SUM(cost_usd), SUM(bill_energy_j), SUM(bill_co2e_g), SUM(energy_j), SUM(co2e_g) FROM idle WHERE minute_ms >= $lo AND minute_ms < $hi GROUP BY 1", long.MinValue, long.MaxValue, r =>
        {
            idle[r.GetString(0)] = r.GetDouble(1);
            energyByDevice[r.GetString(0)] = (new(0, r.GetDouble(2), r.GetDouble(3)), new(0, r.GetDouble(4), r.GetDouble(5)));
        });
        return new LedgerTotals(cost, served, tokens, tenantCost, idle, requestCostByDevice, Bills(connection))
        {
            EnergyByModel = energyByModel,
            EnergyByDevice = energyByDevice,
        };
    }

    /// <summary>The token counts of the totals' query, by kind: its column.</summary>
    private static readonly (string Direction, int Column)[] TokenColumns =
    [
        (TokenDirections.Input, 6), (TokenDirections.Output, 7), (TokenDirections.CachedInput, 9), (TokenDirections.CacheWrite, 10), (TokenDirections.Reasoning, 11),
    ];

    /// <summary>
    /// Each device's bill: the recorded minute bills, plus for minutes from before bills were recorded their idle cost and the
    /// cost of the requests that ended then (exact in shared-time allocation, where requests plus idle make the bill).
    /// </summary>
    private Dictionary<string, double> Bills(SqliteConnection connection)
    {
        var bills = new Dictionary<string, double>(StringComparer.Ordinal);
        ForEachRow(connection, """
            SELECT d.device,
                   (SELECT COALESCE(SUM(bill_usd), 0) FROM idle WHERE device = d.device AND bill_usd IS NOT NULL)
                 + (SELECT COALESCE(SUM(cost_usd), 0) FROM idle WHERE device = d.device AND bill_usd IS NULL)
                 + (SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE device = d.device AND status != 'provisional'
                      AND ended_ms < COALESCE((SELECT MIN(minute_ms) FROM idle WHERE device = d.device AND bill_usd IS NOT NULL), $hi))
            FROM (SELECT DISTINCT device FROM idle UNION SELECT DISTINCT device FROM requests) d WHERE $lo <= $hi
            """, long.MinValue, long.MaxValue, r => bills[r.GetString(0)] = r.GetDouble(1));
        return bills;
    }

    /// <inheritdoc />
    /// <remarks>Rows whose stored rate is 0 keep their cost: with no rate there is no device time to reprice.</remarks>
    public RepriceResult Reprice(DateTimeOffset from, Func<string, DateTimeOffset, (double HourlyUsd, int Version)?> rateAt)
    {
        var connection = _writer ?? throw new InvalidOperationException("Initialize the ledger first.");
        var since = Ms(from);
        var changes = new List<(string Table, long Id, string Device, long Minute, double NewCost, double NewRate, int Version, double OldRate)>();
        double oldTotal = 0, newTotal = 0;
        ForEachRow(connection, "SELECT id, device, COALESCE(device_started_ms, started_ms), cost_usd, hourly_usd FROM requests WHERE COALESCE(device_started_ms, started_ms) >= $lo AND COALESCE(device_started_ms, started_ms) < $hi AND status != 'provisional'", since, long.MaxValue, r =>
            Collect("requests", r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetDouble(3), r.GetDouble(4)));
        ForEachRow(connection, "SELECT 0, device, minute_ms, cost_usd, hourly_usd FROM idle WHERE minute_ms >= $lo AND minute_ms < $hi", since, long.MaxValue, r =>
            Collect("idle", r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetDouble(3), r.GetDouble(4)));

        using var transaction = connection.BeginTransaction();
        foreach (var change in changes)
        {
            using var update = connection.CreateCommand();
            update.Transaction = transaction;
            update.CommandText = change.Table == "requests"
                ? "UPDATE requests SET cost_usd = $cost, hourly_usd = $rate, rate_version = $version WHERE id = $id"
                : "UPDATE idle SET cost_usd = $cost, hourly_usd = $rate, bill_usd = bill_usd * $ratio WHERE device = $device AND minute_ms = $minute";
            update.Parameters.AddWithValue("$cost", change.NewCost);
            update.Parameters.AddWithValue("$rate", change.NewRate);
            update.Parameters.AddWithValue("$version", change.Version);
            update.Parameters.AddWithValue("$id", change.Id);
            update.Parameters.AddWithValue("$device", change.Device);
            update.Parameters.AddWithValue("$minute", change.Minute);
            update.Parameters.AddWithValue("$ratio", change.OldRate > 0 ? change.NewRate / change.OldRate : 1.0);
            update.ExecuteNonQuery();
        }

        // Rows ending from the first repriced hour on feed the rollups again.
        var sinceHour = Floor(since, HourMs);
        foreach (var (table, unit) in new[] { ("rollup_minute", MinuteMs), ("rollup_hour", HourMs) })
        {
            Execute(connection, $"DELETE FROM {table} WHERE bucket_ms >= {sinceHour}", transaction);
            Execute(connection, $"""
                INSERT INTO {table} (bucket_ms, model, endpoint, tenant, device, status, requests, input_tokens, output_tokens, cost_usd,
                    cached_input_tokens, cache_write_tokens, reasoning_tokens, energy_j, co2e_g)
                SELECT ended_ms - (ended_ms % {unit}), model, endpoint, tenant, device, status, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd),
                    {DetailSums}
                FROM requests WHERE ended_ms >= {sinceHour} AND status != 'provisional' GROUP BY 1, 2, 3, 4, 5, 6
                """, transaction);
        }

        transaction.Commit();
        return new RepriceResult(changes.Count, oldTotal, newTotal);

        void Collect(string table, long id, string device, long started, double cost, double oldRate)
        {
            var rate = rateAt(device, DateTimeOffset.FromUnixTimeMilliseconds(started));
            if (rate is not { HourlyUsd: var newRate, Version: var version } || !double.IsFinite(newRate))
            {
                // No rate known for this device: the row keeps its cost.
                oldTotal += cost;
                newTotal += cost;
                return;
            }

            // Shared-time cost is proportional to the rate, so scaling by new/old reprices it exactly
            // for requests that ran within one rate period. An unchanged rate changes nothing (not even by rounding).
            var newCost = oldRate > 0 && newRate != oldRate ? cost * newRate / oldRate : cost;
            oldTotal += cost;
            newTotal += newCost;
            if (newCost != cost || newRate != oldRate)
            {
                changes.Add((table, id, device, started, newCost, newRate, version, oldRate));
            }
        }
    }
}
