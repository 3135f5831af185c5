using System.Globalization;

namespace ModelMeter.Ledger;

/// <summary>How report arguments are written, the same on the cost API and the command line: durations, times, and enum names.</summary>
public static class ReportArguments
{
    /// <summary>The earliest time a report may cover (the ledger counts milliseconds since it).</summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The latest time a report may name: far enough that arithmetic on times (a window, a step) cannot overflow.</summary>
    public static readonly DateTimeOffset Latest = new(9000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The longest duration accepted: about 100 years.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(36_525);

    /// <summary>Durations like <c>90s</c>, <c>15m</c>, <c>24h</c>, <c>7d</c>, up to <see cref="MaxDuration"/>; null when <paramref name="text"/> is not one.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0 || !double.IsFinite(amount))
        {
            return null;
        }

        var seconds = text[^1] switch
        {
            's' => amount,
            'm' => amount * 60,
            'h' => amount * 3600,
            'd' => amount * 86_400,
            _ => double.NaN,
        };
        return seconds <= MaxDuration.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
    }

    /// <summary>An ISO 8601 time; without an offset it is UTC.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>
    /// An enum value by its name, ignoring case. Only one whole name: not a number, not a list (<see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>
    /// would read <c>model,tenant</c>, which is what a repeated query parameter gives, as the two values or-ed together), not padded.
    /// </summary>
    public static bool TryParseEnum<T>(string text, out T value)
        where T : struct, Enum
    {
        foreach (var each in Enum.GetValues<T>())
        {
            if (string.Equals(each.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                value = each;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The names of <typeparamref name="T"/>'s values, lower case, comma-separated (for error messages).</summary>
    public static string Names<T>()
        where T : struct, Enum => string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));

    /// <summary>A value's name as written on the wire: lower case.</summary>
    public static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
