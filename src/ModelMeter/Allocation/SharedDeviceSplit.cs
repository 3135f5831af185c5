namespace ModelMeter.Allocation;

/// <summary>
/// Splits one physical device's bill over a closed window among every request the fleet ran on it, whichever replica
/// served it: while <i>k</i> requests and <i>u</i> unmetered ones run, each pays 1/(<i>k</i> + <i>u</i>) of the time; with
/// none it is idle. Unmetered load is what the server's own gauge reports beyond the fleet's <i>k</i>. The split is a
/// pure function of its inputs, so settling a window again with the same rows gives the same figures, and requests +
/// idle + unmetered = the bill by construction, however the replicas' clocks disagree (skew moves cost between
/// requests, never in or out of the window).
/// </summary>
public static class SharedDeviceSplit
{
    /// <summary>How long a load reading stands for the server's load when no newer one exists: 2 s (readings come about once a second).</summary>
    public const long DefaultSampleValidMs = 2_000;

    /// <summary>Splits [<paramref name="fromMs"/>, <paramref name="toMs"/>) at <paramref name="hourlyUsd"/>.</summary>
    /// <param name="fromMs">The window's start, Unix milliseconds.</param>
    /// <param name="toMs">Its end (exclusive).</param>
    /// <param name="hourlyUsd">The device's rate over the window, US dollars per hour.</param>
    /// <param name="spans">The requests that ran on the device in or across the window; parts outside it are ignored.</param>
    /// <param name="load">The server's load readings (any order); none: every request is the fleet's.</param>
    /// <param name="sampleValidMs">How long a reading holds without a newer one.</param>
    public static SharedWindowSplit Split(long fromMs, long toMs, double hourlyUsd, IReadOnlyCollection<DeviceSpan> spans, IReadOnlyCollection<LoadSample> load, long sampleValidMs = DefaultSampleValidMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(toMs, fromMs);
        var usdPerMs = hourlyUsd / 3_600_000;
        var clipped = spans
            .Select(s => (Key: (s.Node, s.RequestId), Start: Math.Max(s.StartMs, fromMs), End: Math.Min(s.EndMs, toMs)))
            .Where(s => s.End > s.Start)
            .ToList();
        // A reading is a server's figure, so input: one that is not a count (NaN, infinite) stands for nothing.
        var readings = load.Where(l => l.AtMs < toMs && l.AtMs + sampleValidMs > fromMs && double.IsFinite(l.Running)).OrderBy(l => l.AtMs).ToArray();

        // Every moment where k or the reading can change.
        var cuts = new SortedSet<long> { fromMs, toMs };
        foreach (var (_, start, end) in clipped)
        {
            cuts.Add(start);
            cuts.Add(end);
        }

        foreach (var reading in readings)
        {
            cuts.Add(Math.Clamp(reading.AtMs, fromMs, toMs));
            cuts.Add(Math.Clamp(reading.AtMs + sampleValidMs, fromMs, toMs));
        }

        var starting = clipped.ToLookup(s => s.Start);
        var ending = clipped.ToLookup(s => s.End);
        var perRequest = 0.0;    // what one request running since the window began would have paid so far
        var startedAt = new Dictionary<(string, string), double>();
        var shares = new Dictionary<(string Node, string RequestId), double>();
        var (idle, unmetered, running, next) = (0.0, 0.0, 0, 0);
        double? current = null;
        var previous = fromMs;
        foreach (var cut in cuts)
        {
            if (cut > previous)
            {
                var cost = (cut - previous) * usdPerMs;
                var extra = Math.Max(0, (current ?? 0) - running);
                if (running + extra <= 0)
                {
                    idle += cost;
                }
                else
                {
                    perRequest += cost / (running + extra);
                    unmetered += cost * (extra / (running + extra)); // a fraction of the cost: a huge reading cannot overflow it
                }
            }

            foreach (var span in ending[cut])
            {
                shares[span.Key] = shares.GetValueOrDefault(span.Key) + perRequest - startedAt[span.Key];
                running--;
            }

            foreach (var span in starting[cut])
            {
                startedAt[span.Key] = perRequest;
                running++;
            }

            // The reading in force from this cut: the newest one at or before it that has not gone stale.
            while (next < readings.Length && readings[next].AtMs <= cut)
            {
                current = readings[next++].Running;
            }

            if (current is not null && (next == 0 || readings[next - 1].AtMs + sampleValidMs <= cut))
            {
                current = null;
            }

            previous = cut;
        }

        return new SharedWindowSplit((toMs - fromMs) * usdPerMs, shares, idle, unmetered);
    }
}
