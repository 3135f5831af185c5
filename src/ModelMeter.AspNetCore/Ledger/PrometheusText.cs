using System.Globalization;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>Reads one metric out of Prometheus' text exposition format.</summary>
internal static class PrometheusText
{
    /// <summary>
    /// The sum of <paramref name="metric"/>'s samples over its series; null when the text has none. Samples that are not
    /// finite are skipped, and a sum too large to hold (finite samples near <see cref="double.MaxValue"/>) is positive infinity.
    /// </summary>
    public static double? Sum(string text, string metric)
    {
        double? sum = null;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#' || !line.StartsWith(metric, StringComparison.Ordinal) || line.Length == metric.Length)
            {
                continue;
            }

            var rest = line[metric.Length..];
            if (rest[0] == '{')
            {
                var close = LabelsEnd(rest);
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }
            else if (rest[0] is not (' ' or '\t'))
            {
                continue; // another metric whose name starts with this one
            }

            rest = rest.TrimStart();
            var end = rest.IndexOfAny(' ', '\t');
            if (double.TryParse(end < 0 ? rest : rest[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }

    /// <summary>The index of the '}' closing the labels, skipping quoted values (which may hold braces and escaped quotes).</summary>
    private static int LabelsEnd(ReadOnlySpan<char> text)
    {
        var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\\' when quoted:
                    i++;
                    break;
                case '"':
                    quoted = !quoted;
                    break;
                case '}' when !quoted:
                    return i;
            }
        }

        return -1;
    }
}
