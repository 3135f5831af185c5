namespace ModelMeter.Ledger;

/// <summary>Keeps reports to a bounded number of groups: the largest, and the rest summed as <c>(other)</c>.</summary>
public static class ReportLimits
{
    /// <summary>The key of the group that sums the groups left out.</summary>
    public const string OtherKey = "(other)";

    /// <summary>At most <paramref name="limit"/> request groups: the <paramref name="limit"/> − 1 costliest and <c>(other)</c>. Idle and provisional rows are kept apart and always shown.</summary>
    public static CostSummary Limit(this CostSummary summary, int limit)
    {
        var groups = summary.Rows.Where(r => !r.IsIdle && !r.IsProvisional && !r.IsUnmetered).ToList();
        if (groups.Count <= limit)
        {
            return summary;
        }

        var kept = groups.OrderByDescending(r => r.TotalUsd).ThenBy(r => r.Key, StringComparer.Ordinal).Take(limit - 1).ToList();
        var rest = groups.Except(kept).ToList();
        var other = new CostSummaryRow(OtherKey, rest.Sum(r => r.Requests), rest.Sum(r => r.InputTokens), rest.Sum(r => r.OutputTokens), rest.Sum(r => r.CostUsd), rest.Sum(r => r.IdleUsd))
        {
            Details = rest.Aggregate(default(Pricing.TokenDetails), (sum, r) => sum.Add(r.Details)),
            EnergyJoules = rest.Sum(r => r.EnergyJoules),
            Co2eGrams = rest.Sum(r => r.Co2eGrams),
        };
        return summary with { Rows = [.. kept, other, .. summary.Rows.Where(r => r.IsIdle || r.IsProvisional || r.IsUnmetered)] };
    }

    /// <summary>
    /// Points of at most <paramref name="limit"/> request keys: the <paramref name="limit"/> − 1 costliest over the window,
    /// the rest summed per bucket as <c>(other)</c>. Idle keys are kept apart and always shown.
    /// </summary>
    public static IReadOnlyList<CostPoint> Limit(this IReadOnlyList<CostPoint> points, int limit)
    {
        static bool IsIdle(CostPoint p) => p.Key.StartsWith(CostSummaryRow.IdleKey, StringComparison.Ordinal);
        var totals = points.Where(p => !IsIdle(p)).GroupBy(p => p.Key).Select(g => (g.Key, Total: g.Sum(p => p.CostUsd))).ToList();
        if (totals.Count <= limit)
        {
            return points;
        }

        var kept = totals.OrderByDescending(t => t.Total).ThenBy(t => t.Key, StringComparer.Ordinal).Take(limit - 1).Select(t => t.Key).ToHashSet(StringComparer.Ordinal);
        var others = points.Where(p => !IsIdle(p) && !kept.Contains(p.Key)).GroupBy(p => p.Start)
            .Select(g => new CostPoint(OtherKey, g.Key, g.Sum(p => p.CostUsd)) { EnergyJoules = g.Sum(p => p.EnergyJoules), Co2eGrams = g.Sum(p => p.Co2eGrams) });
        return [.. points.Where(p => IsIdle(p) || kept.Contains(p.Key)), .. others.OrderBy(p => p.Start)];
    }
}
