using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.Pricing;

namespace ModelMeter.Server.Cli;

/// <summary><c>report [--by model] [--since 24h] [--until ISO] [--idle separate] [--format table|csv|json] [--ledger FILE]</c>: cost by a grouping, from the configured ledger file or the fleet's ClickHouse.</summary>
internal static class ReportCommand
{
    /// <summary>What a report covers and how it is written.</summary>
    public sealed record Query(CostGrouping By, IdleSharing Idle, TimeSpan Since, DateTimeOffset? Until, string Format);

    public static Command Create(TextWriter output, TextWriter error)
    {
        var by = LedgerArguments.Choice<CostGrouping>("--by", "What to group by (default: model).");
        var idle = LedgerArguments.Choice<IdleSharing>("--idle", "Idle cost in its own rows (separate, the default), or spread over the groups that used the device.");
        var since = new Option<TimeSpan?>("--since")
        {
            Description = "How far back: 90m, 24h, 7d (default: 24h).",
            HelpName = "duration",
            CustomParser = r => ReportArguments.ParseDuration(LedgerArguments.Token(r)) is { } d ? d
                : LedgerArguments.Fail<TimeSpan?>(r, $"--since '{LedgerArguments.Token(r)}' is not a duration like 90m, 24h or 7d."),
        };
        var until = new Option<DateTimeOffset?>("--until")
        {
            Description = "The end of the report, an ISO 8601 time (UTC without an offset); default: now.",
            HelpName = "time",
            CustomParser = r => !ReportArguments.TryParseTime(LedgerArguments.Token(r), out var t)
                ? LedgerArguments.Fail<DateTimeOffset?>(r, $"--until '{LedgerArguments.Token(r)}' is not an ISO 8601 time (2026-11-26T00:00:00Z).")
                : t <= ReportArguments.Earliest || t > ReportArguments.Latest
                    ? LedgerArguments.Fail<DateTimeOffset?>(r, $"--until '{LedgerArguments.Token(r)}' must be between 1970-01-01 and 9000-01-01.")
                    : t,
        };
        var format = new Option<string>("--format") { Description = "How to write it (default: table)." };
        format.AcceptOnlyFromAmong("table", "csv", "json");
        var ledger = LedgerArguments.LedgerOption();
        var command = new Command("report", "Cost by model, tenant, user, endpoint, device, node or day: the local ledger file, or the whole fleet from ClickHouse when ModelMeter:Ledger:Provider is ClickHouse (--ledger reads one file).")
        {
            by, idle, since, until, format, ledger,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parsed =>
        {
            var query = new Query(parsed.GetValue(by) ?? CostGrouping.Model, parsed.GetValue(idle) ?? IdleSharing.Separate, parsed.GetValue(since) ?? TimeSpan.FromDays(1), parsed.GetValue(until), parsed.GetValue(format) ?? "table");
            var now = TimeProvider.System.GetUtcNow();
            if ((query.Until ?? now) - query.Since < ReportArguments.Earliest)
            {
                error.WriteLine($"--since {query.Since.TotalHours:0.##}h before {query.Until ?? now:yyyy-MM-dd HH:mm} UTC reaches back before 1970-01-01, where reports begin.");
                return CommandLine.Failed;
            }

            if (LedgerArguments.Configuration(parsed, error) is not var (options, contentRoot))
            {
                return CommandLine.Failed;
            }

            var file = parsed.GetValue(ledger);
            if (file is null && options.Ledger.UsesClickHouse)
            {
                return ReportFleet(options.Ledger.ClickHouse, options.SharedDevices, query, output, error);
            }

            var path = Path.GetFullPath(file ?? options.Ledger.Path, contentRoot);
            using var local = LedgerArguments.OpenFile(path, error);
            if (local is null)
            {
                return CommandLine.Failed;
            }

            return Run(local, query, now, output);
        });
        return command;
    }

    /// <summary><c>report</c> in fleet mode: the whole fleet, from ClickHouse.</summary>
    private static int ReportFleet(ClickHouseOptions o, IReadOnlyCollection<string> sharedDevices, Query query, TextWriter output, TextWriter error)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds) };
        try
        {
            return Run(o.CreateLedger(http, sharedDevices), query, TimeProvider.System.GetUtcNow(), output);
        }
        catch (Exception e) when (e is ClickHouseException or HttpRequestException or TaskCanceledException)
        {
            error.WriteLine($"The fleet ledger (ClickHouse at {o.Url}) cannot be read: {e.Message}");
            return CommandLine.Failed;
        }
    }

    /// <summary>Writes the report of <paramref name="ledger"/> for <paramref name="query"/> ending at <paramref name="now"/> unless it says when.</summary>
    public static int Run(ILedgerReports ledger, Query query, DateTimeOffset now, TextWriter output)
    {
        var until = query.Until ?? now;
        var summary = ledger.SummarizeAsync(until - query.Since, until, query.By, query.Idle).GetAwaiter().GetResult(); // a console command: nothing to free meanwhile
        var by = query.By;
        switch (query.Format)
        {
            case "table":
                WriteTable(summary, output);
                break;
            case "csv":
                output.WriteLine($"{Name(by)},requests,input_tokens,output_tokens,cost_usd,idle_usd,total_usd,cached_input_tokens,cache_write_tokens,reasoning_tokens,energy_j,co2e_g");
                foreach (var r in summary.Rows)
                {
                    output.WriteLine(string.Join(',', Csv(r.Key), r.Requests, r.InputTokens, r.OutputTokens, Number(r.CostUsd), Number(r.IdleUsd), Number(r.TotalUsd),
                        r.Details.CachedInput, r.Details.CacheWrite, r.Details.Reasoning, Number(r.EnergyJoules), Number(r.Co2eGrams)));
                }

                break;
            default:
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    from = summary.From, to = summary.To, by = Name(by), idle = Name(query.Idle), total_usd = summary.TotalUsd, estimated_usd = summary.EstimatedUsd,
                    rows = summary.Rows.Select(r => new
                    {
                        key = r.Key, requests = r.Requests, input_tokens = r.InputTokens, output_tokens = r.OutputTokens, cost_usd = r.CostUsd, idle_usd = r.IdleUsd, total_usd = r.TotalUsd,
                        cached_input_tokens = r.Details.CachedInput, cache_write_tokens = r.Details.CacheWrite, reasoning_tokens = r.Details.Reasoning,
                        energy_j = r.EnergyJoules, co2e_g = r.Co2eGrams,
                    }),
                }));
                break;
        }

        return CommandLine.Ok;
    }

    private static string Wh(double joules) => (joules / 3600).ToString("0.###", CultureInfo.InvariantCulture);

    private static string Grams(double grams) => grams.ToString("0.###", CultureInfo.InvariantCulture);

    private static void WriteTable(CostSummary summary, TextWriter output)
    {
        var total = summary.TotalUsd;
        output.WriteLine($"Cost by {Name(summary.By)}, {summary.From:yyyy-MM-dd HH:mm} to {summary.To:yyyy-MM-dd HH:mm} UTC (idle: {Name(summary.Idle)})");
        var keyWidth = Math.Max(12, summary.Rows.Select(r => Printable(r.Key).Length).DefaultIfEmpty(0).Max());
        output.WriteLine($"{Name(summary.By).PadRight(keyWidth)} {"requests",9} {"input tok",10} {"output tok",10} {"energy Wh",11} {"CO2e g",10} {"cost USD",12} {"idle USD",12} {"total USD",12} {"share",7}");
        foreach (var r in summary.Rows)
        {
            var share = total > 0 ? r.TotalUsd / total : 0;
            output.WriteLine($"{Printable(r.Key).PadRight(keyWidth)} {r.Requests,9} {r.InputTokens,10} {r.OutputTokens,10} {Wh(r.EnergyJoules),11} {Grams(r.Co2eGrams),10} {Money(r.CostUsd),12} {Money(r.IdleUsd),12} {Money(r.TotalUsd),12} {share,7:P1}");
        }

        var totalLine = $"{"total".PadRight(keyWidth)} {summary.Rows.Sum(r => r.Requests),9} {summary.Rows.Sum(r => r.InputTokens),10} {summary.Rows.Sum(r => r.OutputTokens),10} {Wh(summary.Rows.Sum(r => r.EnergyJoules)),11} {Grams(summary.Rows.Sum(r => r.Co2eGrams)),10} {Money(summary.Rows.Sum(r => r.CostUsd)),12} {Money(summary.Rows.Sum(r => r.IdleUsd)),12} {Money(total),12} {(total > 0 ? 1 : 0),7:P1}";
        output.WriteLine(totalLine);
        var details = summary.Rows.Aggregate(default(TokenDetails), (sum, r) => sum.Add(r.Details));
        if (!details.IsZero)
        {
            output.WriteLine($"Of the input tokens, {details.CachedInput} were read from a provider's cache and {details.CacheWrite} written to it; of the output tokens, {details.Reasoning} were reasoning.");
        }
        if (summary.EstimatedUsd > 0)
        {
            output.WriteLine($"{Money(summary.EstimatedUsd)} USD of it is shared devices' time not settled yet: the replicas' own estimates until the fleet ledger settles it.");
        }
    }

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
