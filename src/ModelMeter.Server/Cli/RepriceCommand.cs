using System.CommandLine;
using System.Globalization;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.Server.Cli;

/// <summary><c>reprice --from ISO [--ledger FILE]</c>: recomputes stored costs from a date on with the configured rate cards.</summary>
internal static class RepriceCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var from = new Option<DateTimeOffset>("--from")
        {
            Description = "The first moment whose costs are recomputed, an ISO 8601 time (UTC without an offset).",
            HelpName = "time",
            Required = true,
            CustomParser = r => ReportArguments.TryParseTime(LedgerArguments.Token(r), out var t) ? t
                : LedgerArguments.Fail<DateTimeOffset>(r, $"--from '{LedgerArguments.Token(r)}' is not an ISO 8601 time (2026-11-26T00:00:00Z)."),
        };
        var ledger = LedgerArguments.LedgerOption();
        var command = new Command("reprice", "Recompute the ledger file's costs from a date on with the configured rate cards (Devices:NAME:HourlyUsd and Rates), after a price was corrected.")
        {
            from, ledger,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parsed =>
        {
            if (LedgerArguments.Configuration(parsed, error) is not var (options, contentRoot))
            {
                return CommandLine.Failed;
            }

            var path = Path.GetFullPath(parsed.GetValue(ledger) ?? options.Ledger.Path, contentRoot);
            using var local = LedgerArguments.OpenFile(path, error);
            if (local is null)
            {
                return CommandLine.Failed;
            }

            return Run(local, options, parsed.GetValue(from), output, error);
        });
        return command;
    }

    /// <summary>Reprices <paramref name="ledger"/> from <paramref name="from"/> on with <paramref name="options"/>' rate cards and says what changed.</summary>
    public static int Run(ILedgerStore ledger, ModelMeterOptions options, DateTimeOffset from, TextWriter output, TextWriter error)
    {
        var cards = options.Devices.ToDictionary(d => d.Key, d => d.Value.ToRateCard());
        var unknown = new HashSet<string>(StringComparer.Ordinal);
        var result = ledger.Reprice(from, (device, at) =>
        {
            if (cards.TryGetValue(device, out var card))
            {
                var version = card.VersionAt(at);
                return (card.HourlyUsdOf(version), version);
            }

            unknown.Add(device);
            return null;
        });

        foreach (var device in unknown)
        {
            error.WriteLine($"Device '{device}' is in the ledger but not in the configuration; its rows were left as they were.");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Repriced {result.RowsChanged} rows from {from:yyyy-MM-dd HH:mm:ss} UTC: total {result.OldTotalUsd:0.000000} USD before, {result.NewTotalUsd:0.000000} USD after ({result.NewTotalUsd - result.OldTotalUsd:+0.000000;-0.000000;0} USD)."));
        return CommandLine.Ok;
    }
}
