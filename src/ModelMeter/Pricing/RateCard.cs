namespace ModelMeter.Pricing;

/// <summary>
/// An effective-dated price list for one device: a sorted list of <see cref="RatePeriod"/>s.
/// Before the first period the device costs nothing; each period lasts until the next one starts.
/// </summary>
public sealed class RateCard
{
    private readonly RatePeriod[] _periods;

    /// <summary>Creates a rate card from periods in any order. Throws when a rate is negative or not finite, or two periods start at once.</summary>
    public RateCard(IEnumerable<RatePeriod> periods)
    {
        _periods = periods.OrderBy(p => p.From).ToArray();
        if (_periods.Length == 0)
        {
            throw new ArgumentException("A rate card needs at least one period.", nameof(periods));
        }

        for (var i = 0; i < _periods.Length; i++)
        {
            if (!double.IsFinite(_periods[i].HourlyUsd) || _periods[i].HourlyUsd < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(periods), _periods[i].HourlyUsd, "Hourly rates must be finite and not negative.");
            }

            if (i > 0 && _periods[i].From == _periods[i - 1].From)
            {
                throw new ArgumentException($"Two rates start at {_periods[i].From:O}.", nameof(periods));
            }
        }
    }

    /// <summary>A card with one rate in force since the beginning of time.</summary>
    public static RateCard Flat(double hourlyUsd) => new([new RatePeriod(DateTimeOffset.MinValue, hourlyUsd)]);

    /// <summary>The periods, oldest first.</summary>
    public IReadOnlyList<RatePeriod> Periods => _periods;

    /// <summary>
    /// The index of the period in force at <paramref name="at"/>, or -1 before the first one.
    /// The index doubles as the rate-card version recorded with each request.
    /// </summary>
    public int VersionAt(DateTimeOffset at)
    {
        // The last period that starts at or before at: a binary search, as a grid's figures may be hourly for a year.
        var (low, high) = (0, _periods.Length - 1);
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (_periods[middle].From <= at)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return high;
    }

    /// <summary>The hourly rate of version <paramref name="version"/> (zero for -1).</summary>
    public double HourlyUsdOf(int version) => version < 0 ? 0 : _periods[version].HourlyUsd;

    /// <summary>When the version after <paramref name="version"/> takes effect, or <see cref="DateTimeOffset.MaxValue"/>.</summary>
    public DateTimeOffset NextChangeAfter(int version) =>
        version + 1 < _periods.Length ? _periods[version + 1].From : DateTimeOffset.MaxValue;

    /// <summary>What the device costs from <paramref name="start"/> to <paramref name="end"/>, in US dollars, across rate changes.</summary>
    public double CostUsd(DateTimeOffset start, DateTimeOffset end)
    {
        var total = 0.0;
        var version = VersionAt(start);
        var cursor = start;
        while (cursor < end)
        {
            var next = NextChangeAfter(version);
            var until = next < end ? next : end;
            total += HourlyUsdOf(version) * (until - cursor).Ticks / TicksPerHour;
            cursor = until;
            version++;
        }

        return total;
    }

    internal const double TicksPerHour = TimeSpan.TicksPerHour;
}
