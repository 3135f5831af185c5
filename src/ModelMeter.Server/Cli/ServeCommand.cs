using System.CommandLine;

namespace ModelMeter.Server.Cli;

/// <summary><c>serve [--urls URL] [--Section:Key=value ...]</c>: the server, also what runs without a verb.</summary>
internal static class ServeCommand
{
    /// <summary>The verb's name.</summary>
    public const string Name = "serve";

    public static Command Create(Func<string[], int>? serve, TextWriter error)
    {
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen, ';'-separated (default http://127.0.0.1:8000). Wins over ASPNETCORE_HTTP_PORTS, as in ASP.NET Core.",
            HelpName = "url",
        };
        var command = new Command(Name, "Serve the configured models, the OpenAI-compatible API, /metrics and the dashboard (the default verb).")
        {
            urls,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parsed =>
        {
            if (serve is null)
            {
                error.WriteLine("This host cannot serve.");
                return CommandLine.Failed;
            }

            var settings = ConfigurationArguments.Of(parsed);
            return serve(parsed.GetValue(urls) is { } value ? [.. settings, "--urls", value] : settings);
        });
        return command;
    }
}
