using System.Globalization;
using ModelMeter.Ledger;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.Server.Cli;

/// <summary><c>reprice --from ISO</c>: recomputes stored costs from a date on with the configured rate cards.</summary>
internal static class RepriceCommand
{
    public static int Run(ILedgerStore ledger, ModelMeterOptions options, IReadOnlyDictionary<string, string> flags, TextWriter output, TextWriter error)
    {
        if (!flags.TryGetValue("from", out var fromText)
            || !DateTimeOffset.TryParse(fromText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var from))
        {
            throw new ArgumentException("reprice needs --from <ISO 8601 date>, the first moment whose costs are recomputed.");
        }

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
        return 0;
    }
}
