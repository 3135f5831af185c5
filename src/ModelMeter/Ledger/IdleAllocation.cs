using ModelMeter.Allocation;

namespace ModelMeter.Ledger;

/// <summary>Turns per-(group, device) request totals and per-device idle cost into report rows, sharing idle as asked.</summary>
internal static class IdleAllocation
{
    /// <param name="groups">Request totals by (group key, device).</param>
    /// <param name="idle">Idle cost, energy and carbon by (device, device) or, for <see cref="CostGrouping.Day"/> and <see cref="CostGrouping.Node"/>, (day or node, device); energy and carbon are shared as the dollars are.</param>
    /// <param name="by">The grouping.</param>
    /// <param name="sharing">How idle cost is shown.</param>
    public static IReadOnlyList<CostSummaryRow> Apply(
        IReadOnlyDictionary<(string Key, string Device), GroupTotals> groups,
        IReadOnlyDictionary<(string Key, string Device), DeviceShare> idle,
        CostGrouping by,
        IdleSharing sharing)
    {
        var rows = new Dictionary<string, (GroupTotals Totals, DeviceShare Idle)>(StringComparer.Ordinal);
        foreach (var ((key, _), totals) in groups)
        {
            var row = rows.GetValueOrDefault(key);
            rows[key] = (row.Totals.Add(totals.Requests, totals.InputTokens, totals.OutputTokens, totals.CostUsd, totals.Details, totals.EnergyJoules, totals.Co2eGrams), row.Idle);
        }

        foreach (var ((idleKey, device), idleShare) in idle)
        {
            if (by is CostGrouping.Day or CostGrouping.Device or CostGrouping.Node)
            {
                // The idle time belongs to the day, the device or the node itself.
                AddIdle(rows, idleKey, idleShare);
                continue;
            }

            var users = groups.Where(g => g.Key.Device == device && g.Value.Requests > 0).ToArray();
            if (sharing == IdleSharing.Separate || users.Length == 0)
            {
                AddIdle(rows, $"{CostSummaryRow.IdleKey} {device}", idleShare);
                continue;
            }

            var busyUsd = users.Sum(u => u.Value.CostUsd);
            foreach (var user in users)
            {
                var share = sharing == IdleSharing.Proportional && busyUsd > 0 ? user.Value.CostUsd / busyUsd : 1.0 / users.Length;
                AddIdle(rows, user.Key.Key, idleShare * share);
            }
        }

        return rows
            .Select(r => new CostSummaryRow(r.Key, r.Value.Totals.Requests, r.Value.Totals.InputTokens, r.Value.Totals.OutputTokens, r.Value.Totals.CostUsd, r.Value.Idle.Usd)
            {
                Details = r.Value.Totals.Details,
                EnergyJoules = r.Value.Totals.EnergyJoules + r.Value.Idle.Joules,
                Co2eGrams = r.Value.Totals.Co2eGrams + r.Value.Idle.Co2eGrams,
            })
            .OrderByDescending(r => r.TotalUsd)
            .ThenBy(r => r.Key, StringComparer.Ordinal)
            .ToList();
    }

    private static void AddIdle(Dictionary<string, (GroupTotals Totals, DeviceShare Idle)> rows, string key, DeviceShare idle)
    {
        var row = rows.GetValueOrDefault(key);
        rows[key] = (row.Totals, row.Idle + idle);
    }
}
