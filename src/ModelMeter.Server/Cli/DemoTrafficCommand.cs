using System.CommandLine;
using System.Globalization;
using ModelMeter.Ledger;

namespace ModelMeter.Server.Cli;

/// <summary><c>demo-traffic [--rps 5] [--duration 60s] [--url http://127.0.0.1:8000]</c>: requests to a running server's demo models.</summary>
internal static class DemoTrafficCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var rps = new Option<double?>("--rps")
        {
            Description = "Requests a second, above 0 and up to 1000 (default: 5).",
            HelpName = "rate",
            CustomParser = r => double.TryParse(LedgerArguments.Token(r), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is > 0 and <= 1000 ? v
                : LedgerArguments.Fail<double?>(r, $"--rps '{LedgerArguments.Token(r)}' must be a number of requests a second above 0 and up to 1000."),
        };
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "How long: 30s, 5m, 1h (default: 60s).",
            HelpName = "duration",
            CustomParser = r => ReportArguments.ParseDuration(LedgerArguments.Token(r)) is { } d ? d
                : LedgerArguments.Fail<TimeSpan?>(r, $"--duration '{LedgerArguments.Token(r)}' is not a duration (30s, 5m, 1h)."),
        };
        var url = new Option<Uri>("--url")
        {
            Description = "The running server (default: http://127.0.0.1:8000).",
            CustomParser = r => Uri.TryCreate(WithSlash(LedgerArguments.Token(r)), UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
                : LedgerArguments.Fail<Uri>(r, $"--url '{LedgerArguments.Token(r)}' is not an http(s) URL."),
        };
        var command = new Command("demo-traffic", $"Send requests to a running server's demo models (billed to the tenant '{DemoTraffic.Tenant}'), so that the dashboard has something to show.")
        {
            rps, duration, url,
        };
        command.SetAction(parsed => Run(parsed.GetValue(rps) ?? 5, parsed.GetValue(duration) ?? TimeSpan.FromSeconds(60), parsed.GetValue(url) ?? new Uri("http://127.0.0.1:8000/"), output, error));
        return command;
    }

    private static int Run(double rps, TimeSpan duration, Uri baseAddress, TextWriter output, TextWriter error)
    {
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
        output.WriteLine($"Sending {rps} requests a second to {baseAddress} for {duration.TotalSeconds} s ...");
        try
        {
            var (answered, failed) = new DemoTraffic(client).RunAsync(rps, duration, CancellationToken.None).GetAwaiter().GetResult();
            output.WriteLine($"{answered} answered, {failed} failed.");
            return failed > 0 && answered == 0 ? CommandLine.Failed : CommandLine.Ok;
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            error.WriteLine($"Could not send demo traffic to {baseAddress}: {e.Message}");
            return CommandLine.Failed;
        }
    }

    private static string WithSlash(string url) => url.EndsWith('/') ? url : url + "/";
}
