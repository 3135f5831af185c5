using System.Globalization;
using System.Text.Json;
using ModelMeter.Ledger;

namespace ModelMeter.Server.Cli;

/// <summary><c>report --by model --since 24h [--until ISO] [--idle separate] [--format table|csv|json]</c>.</summary>
internal static class ReportCommand
{
    public static int Run(ILedgerReports ledger, IReadOnlyDictionary<string, string> flags, DateTimeOffset now, TextWriter output, TextWriter error)
    {
        var by = Parse(flags, "by", CostGrouping.Model);
        var idle = Parse(flags, "idle", IdleSharing.Separate);
        var until = !flags.TryGetValue("until", out var untilText) ? now
            : ReportArguments.TryParseTime(untilText, out var parsed) ? parsed
            : throw new ArgumentException($"--until '{untilText}' is not an ISO 8601 time (2026-11-26T00:00:00Z).");
        var since = flags.TryGetValue("since", out var sinceText)
            ? ReportArguments.ParseDuration(sinceText) ?? throw new ArgumentException($"--since '{sinceText}' is not a duration like 90m, 24h or 7d.")
            : TimeSpan.FromDays(1);
        var format = flags.GetValueOrDefault("format", "table");
        var summary = ledger.SummarizeAsync(until - since, until, by, idle).GetAwaiter().GetResult(); // a console command: nothing to free meanwhile

        switch (format)
        {
            case "table":
                WriteTable(summary, output);
                break;
            case "csv":
                output.WriteLine($"{Name(by)},requests,input_tokens,output_tokens,cost_usd,idle_usd,total_usd");
                foreach (var r in summary.Rows)
                {
                    output.WriteLine(string.Join(',', Csv(r.Key), r.Requests, r.InputTokens, r.OutputTokens, Number(r.CostUsd), Number(r.IdleUsd), Number(r.TotalUsd)));
                }

                break;
            case "json":
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    from = summary.From, to = summary.To, by = Name(by), idle = Name(idle), total_usd = summary.TotalUsd,
                    rows = summary.Rows.Select(r => new { key = r.Key, requests = r.Requests, input_tokens = r.InputTokens, output_tokens = r.OutputTokens, cost_usd = r.CostUsd, idle_usd = r.IdleUsd, total_usd = r.TotalUsd }),
                }));
                break;
            default:
                throw new ArgumentException($"--format '{format}' is not one of table, csv, json.");
        }

        return 0;
    }

    private static void WriteTable(CostSummary summary, TextWriter output)
    {
        var total = summary.TotalUsd;
        output.WriteLine($"Cost by {Name(summary.By)}, {summary.From:yyyy-MM-dd HH:mm} to {summary.To:yyyy-MM-dd HH:mm} UTC (idle: {Name(summary.Idle)})");
        var keyWidth = Math.Max(12, summary.Rows.Select(r => Printable(r.Key).Length).DefaultIfEmpty(0).Max());
        output.WriteLine($"{Name(summary.By).PadRight(keyWidth)} {"requests",9} {"input tok",10} {"output tok",10} {"cost USD",12} {"idle USD",12} {"total USD",12} {"share",7}");
        foreach (var r in summary.Rows)
        {
            var share = total > 0 ? r.TotalUsd / total : 0;
            output.WriteLine($"{Printable(r.Key).PadRight(keyWidth)} {r.Requests,9} {r.InputTokens,10} {r.OutputTokens,10} {Money(r.CostUsd),12} {Money(r.IdleUsd),12} {Money(r.TotalUsd),12} {share,7:P1}");
        }

        output.WriteLine($"{"total".PadRight(keyWidth)} {summary.Rows.Sum(r => r.Requests),9} {summary.Rows.Sum(r => r.InputTokens),10} {summary.Rows.Sum(r => r.OutputTokens),10} {Money(summary.Rows.Sum(r => r.CostUsd)),12} {Money(summary.Rows.Sum(r => r.IdleUsd)),12} {Money(total),12} {(total > 0 ? 1 : 0),7:P1}");
    }

    private static T Parse<T>(IReadOnlyDictionary<string, string> flags, string name, T fallback)
        where T : struct, Enum =>
        !flags.TryGetValue(name, out var text) ? fallback
        : ReportArguments.TryParseEnum<T>(text, out var value) ? value
        : throw new ArgumentException($"--{name} '{text}' is not one of {ReportArguments.Names<T>()}.");

    private static string Name<T>(T value)
        where T : struct, Enum => ReportArguments.Name(value);

    private static string Money(double usd) => usd.ToString("0.000000", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// A CSV field that a spreadsheet shows as text: a leading = + - @ (or tab, CR) would start a formula, so it gets a
    /// leading apostrophe; commas, quotes and line breaks are quoted.
    /// </summary>
    private static string Csv(string text)
    {
        if (text.Length > 0 && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            text = "'" + text;
        }

        return text.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? $"\"{text.Replace("\"", "\"\"")}\"" : text;
    }

    /// <summary>A key for the table: control characters (which could move the cursor or clear a terminal) shown as \uXXXX.</summary>
    private static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : text;
}
