namespace ModelMeter.Metering;

/// <summary>
/// Requests refused before they used a device (bad input, over a budget or rate limit, a full queue): they have no ledger row,
/// so this process counts them per minute, model and reason, for reports of errors over time. Kept for
/// <see cref="Retention"/>; in memory, so a restart starts it afresh, and each replica counts its own.
/// </summary>
public sealed class RefusalLog(TimeProvider time)
{
    /// <summary>How long the minutes are kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(31);

    private readonly Lock _gate = new();
    private readonly Dictionary<(long Minute, string Model, string Reason), long> _counts = [];
    private long _oldest = long.MaxValue;

    /// <summary>One refusal of a request to <paramref name="model"/>, now.</summary>
    public void Add(string model, string reason)
    {
        var minute = time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000 * 60_000;
        lock (_gate)
        {
            _counts[(minute, model, reason)] = _counts.GetValueOrDefault((minute, model, reason)) + 1;
            _oldest = Math.Min(_oldest, minute);
            var cutoff = minute - (long)Retention.TotalMilliseconds;
            if (_oldest < cutoff)
            {
                foreach (var key in _counts.Keys.Where(k => k.Minute < cutoff).ToList())
                {
                    _counts.Remove(key);
                }

                _oldest = _counts.Count == 0 ? long.MaxValue : _counts.Keys.Min(k => k.Minute);
            }
        }
    }

    /// <summary>The refusals in [<paramref name="from"/>, <paramref name="to"/>) per <paramref name="step"/>-long bucket from <paramref name="from"/>, model and reason.</summary>
    public IReadOnlyList<(DateTimeOffset Start, string Model, string Reason, long Requests)> Between(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null)
    {
        var (lo, hi, stepMs) = (from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), (long)step.TotalMilliseconds);
        lock (_gate)
        {
            return _counts
                .Where(c => c.Key.Minute >= lo && c.Key.Minute < hi && (model is null || c.Key.Model == model))
                .GroupBy(c => (Bucket: lo + (c.Key.Minute - lo) / stepMs * stepMs, c.Key.Model, c.Key.Reason))
                .Select(g => (DateTimeOffset.FromUnixTimeMilliseconds(g.Key.Bucket), g.Key.Model, g.Key.Reason, g.Sum(c => c.Value)))
                .OrderBy(c => c.Item1).ThenBy(c => c.Model, StringComparer.Ordinal).ThenBy(c => c.Reason, StringComparer.Ordinal)
                .ToList();
        }
    }
}
