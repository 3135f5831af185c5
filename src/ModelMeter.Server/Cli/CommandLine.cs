using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace ModelMeter.Server.Cli;

/// <summary>
/// The command line, parsed by System.CommandLine: <c>serve</c> (the default verb), <c>report</c>, <c>reprice</c>,
/// <c>demo-traffic</c>, <c>hash-key</c> and <c>health</c>, each with <c>--help</c>. Any configuration key can follow as
/// <c>--Section:Key=value</c> (or <c>--Section:Key value</c>), as ASP.NET Core reads it. Exit codes: 0 done, 1 failed,
/// 2 the command line is wrong.
/// </summary>
internal static class CommandLine
{
    /// <summary>Exit code: the command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>Exit code: the command ran and failed (no ledger, a server that does not answer, the port taken).</summary>
    public const int Failed = 1;

    /// <summary>Exit code: the command line is wrong; the message says which option.</summary>
    public const int Usage = 2;

    /// <summary>Parses <paramref name="args"/> and runs the verb; returns the process exit code.</summary>
    /// <param name="args">The process's arguments.</param>
    /// <param name="output">Where results and help go.</param>
    /// <param name="error">Where problems go.</param>
    /// <param name="input">Standard input (<c>hash-key</c> reads the key from it).</param>
    /// <param name="serve">Starts the server with the given configuration arguments and returns its exit code; null where serving is not possible (tests of the other verbs).</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, TextReader? input = null, Func<string[], int>? serve = null)
    {
        var root = Build(output, error, input ?? TextReader.Null, serve);
        // The root's own name first: System.CommandLine takes a first token that ends with the program's name (such as
        // --contentRoot=/srv/ModelMeter.Server) for the program itself and drops it.
        var parsed = root.Parse([root.Name, .. args]);
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (parsed.Action is not ParseErrorAction && parsed.Action != parsed.CommandResult.Command.Action)
        {
            return parsed.Invoke(configuration); // --help, --version, a completion directive
        }

        var problems = parsed.Errors.Select(e => e.Message).Concat(ConfigurationArguments.Problems(parsed)).ToList();
        if (problems.Count == 0)
        {
            return parsed.Invoke(configuration);
        }

        foreach (var problem in problems)
        {
            error.WriteLine(problem);
        }

        var verb = parsed.CommandResult.Command is RootCommand ? "" : parsed.CommandResult.Command.Name + " ";
        error.WriteLine($"See '{root.Name} {verb}--help'.");
        return Usage;
    }

    private static RootCommand Build(TextWriter output, TextWriter error, TextReader input, Func<string[], int>? serve)
    {
        var root = new RootCommand(
            "ModelMeter serves ML models (or sits in front of the servers that do), measures every request and turns device time into dollars. " +
            "Without a verb it serves. Any configuration key can be given as --Section:Key=value, e.g. --ModelMeter:Ledger:Path=data/ledger.db.")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        var serveCommand = ServeCommand.Create(serve, error);
        foreach (var option in serveCommand.Options.Where(o => o is not HelpOption))
        {
            root.Options.Add(option);
        }

        root.Action = serveCommand.Action;
        root.Subcommands.Add(serveCommand);
        root.Subcommands.Add(ReportCommand.Create(output, error));
        root.Subcommands.Add(RepriceCommand.Create(output, error));
        root.Subcommands.Add(DemoTrafficCommand.Create(output, error));
        root.Subcommands.Add(HashKeyCommand.Create(input, output, error));
        root.Subcommands.Add(HealthCommand.Create(output, error));
        var help = new Command("help", "Show help and usage information.") { Hidden = true }; // what people type before --help
        help.SetAction(_ => root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output, Error = error }));
        root.Subcommands.Add(help);
        return root;
    }
}
