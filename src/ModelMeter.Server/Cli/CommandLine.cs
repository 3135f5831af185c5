using Microsoft.Extensions.Options;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.Server.Cli;

/// <summary>The command-line verbs besides serving: <c>report</c> (the configured ledger file, or the fleet's ClickHouse) and <c>reprice</c> (the file).</summary>
internal static class CommandLine
{
    public static bool IsVerb(string[] args) => args is ["report", ..] or ["reprice", ..] or ["demo-traffic", ..];

    /// <summary>Runs a verb; returns the process exit code (0 ok, 1 failure, 2 bad arguments).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var (flags, settings) = Split(args[1..]);
        if (args[0] == "demo-traffic")
        {
            return DemoTrafficCommand(flags, output, error);
        }

        var builder = WebApplication.CreateBuilder(settings);
        var options = builder.Configuration.GetSection(ModelMeterOptions.Section).Get<ModelMeterOptions>() ?? new ModelMeterOptions();
        if (args[0] == "report" && !flags.ContainsKey("ledger") && options.Ledger.UsesClickHouse)
        {
            return ReportFleet(options.Ledger.ClickHouse, flags, output, error);
        }

        var path = Path.GetFullPath(flags.GetValueOrDefault("ledger") ?? options.Ledger.Path, builder.Environment.ContentRootPath);
        if (!File.Exists(path))
        {
            error.WriteLine($"No ledger at {path}. Start the server once, or give --ledger <file>.");
            return 1;
        }

        using var ledger = new SqliteLedger(path);
        ledger.Initialize();
        try
        {
            return args[0] == "report"
                ? ReportCommand.Run(ledger, flags, TimeProvider.System.GetUtcNow(), output, error)
                : RepriceCommand.Run(ledger, options, flags, output, error);
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary><c>demo-traffic [--rps 5] [--duration 60s] [--url http://127.0.0.1:8000]</c>: requests to a running server's models.</summary>
    private static int DemoTrafficCommand(Dictionary<string, string> flags, TextWriter output, TextWriter error)
    {
        var rpsText = flags.GetValueOrDefault("rps") ?? "5";
        var durationText = flags.GetValueOrDefault("duration") ?? "60s";
        if (!double.TryParse(rpsText, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var rps) || rps is <= 0 or > 1000)
        {
            error.WriteLine($"--rps '{rpsText}' must be a number of requests a second from 0 to 1000.");
            return 2;
        }

        if (ModelMeter.Ledger.ReportArguments.ParseDuration(durationText) is not { } duration || duration <= TimeSpan.Zero)
        {
            error.WriteLine($"--duration '{durationText}' is not a duration (30s, 5m, 1h).");
            return 2;
        }

        var url = flags.GetValueOrDefault("url") ?? "http://127.0.0.1:8000";
        if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var baseAddress))
        {
            error.WriteLine($"--url '{url}' is not a URL.");
            return 2;
        }

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
        output.WriteLine($"Sending {rps} requests a second to {baseAddress} for {duration.TotalSeconds} s ...");
        try
        {
            var (answered, failed) = new DemoTraffic(client).RunAsync(rps, duration, CancellationToken.None).GetAwaiter().GetResult();
            output.WriteLine($"{answered} answered, {failed} failed.");
            return failed > 0 && answered == 0 ? 1 : 0;
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            error.WriteLine($"Could not send demo traffic to {baseAddress}: {e.Message}");
            return 1;
        }
    }

    /// <summary><c>report</c> in fleet mode: the whole fleet, from ClickHouse (give <c>--ledger</c> for this replica's file alone).</summary>
    private static int ReportFleet(ClickHouseOptions o, Dictionary<string, string> flags, TextWriter output, TextWriter error)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds) };
        var fleet = o.CreateLedger(http);
        try
        {
            return ReportCommand.Run(fleet, flags, TimeProvider.System.GetUtcNow(), output, error);
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
        catch (Exception e) when (e is ClickHouseException or HttpRequestException or TaskCanceledException)
        {
            error.WriteLine($"The fleet ledger (ClickHouse at {o.Url}) cannot be read: {e.Message}");
            return 1;
        }
    }

    /// <summary>Splits <c>--name value</c> flags of the verb from <c>--Section:Key=value</c> configuration overrides.</summary>
    private static (Dictionary<string, string> Flags, string[] Settings) Split(string[] args)
    {
        var flags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var settings = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal) && !arg.Contains(':') && !arg.Contains('=') && i + 1 < args.Length)
            {
                flags[arg[2..]] = args[++i];
            }
            else
            {
                settings.Add(arg);
            }
        }

        return (flags, settings.ToArray());
    }
}
