using System.CommandLine;
using System.CommandLine.Parsing;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Server.Cli;

/// <summary>What <c>report</c> and <c>reprice</c> share: <c>--ledger</c>, the configuration they read, and options parsed as the cost API parses them.</summary>
internal static class LedgerArguments
{
    public static Option<string> LedgerOption() => new("--ledger")
    {
        Description = "A ledger file to read; default: the configured ModelMeter:Ledger:Path (data/ledger.db under the content root).",
        HelpName = "file",
    };

    /// <summary>
    /// The configuration the server would read with these arguments, and where it would find its files; null (with the
    /// problem written to <paramref name="error"/>) when a value cannot be read (<c>Ledger:Durability=Sometimes</c>).
    /// </summary>
    public static (ModelMeterOptions Options, string ContentRoot)? Configuration(ParseResult parsed, TextWriter error)
    {
        var builder = WebApplication.CreateBuilder(ConfigurationArguments.Of(parsed));
        try
        {
            var section = builder.Configuration.GetSection(ModelMeterOptions.Section);
            var options = section.Get<ModelMeterOptions>() ?? new ModelMeterOptions();
            var dropped = ConfigurationErrors.Dropped(section.GetSection("Devices"), options.Devices).ToList(); // the rate cards they read
            foreach (var problem in dropped)
            {
                error.WriteLine(problem);
            }

            return dropped.Count == 0 ? (options, builder.Environment.ContentRootPath) : null;
        }
        catch (InvalidOperationException e) when (ConfigurationErrors.Describe(e) is { } problem)
        {
            error.WriteLine(problem);
            return null;
        }
    }

    /// <summary>
    /// The ledger file at <paramref name="path"/>, opened; null (with the reason written to <paramref name="error"/>) when there
    /// is none or it cannot be opened (not a SQLite file, unreadable).
    /// </summary>
    public static SqliteLedger? OpenFile(string path, TextWriter error)
    {
        if (!File.Exists(path))
        {
            error.WriteLine($"No ledger at {path}. Start the server once, or give --ledger <file>.");
            return null;
        }

        var ledger = new SqliteLedger(path);
        try
        {
            ledger.Initialize(create: false);
            return ledger;
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            ledger.Dispose();
            error.WriteLine($"The ledger at {path} cannot be opened ({e.Message.TrimEnd('.')}). Give --ledger a ledger file the server wrote.");
            return null;
        }
    }

    /// <summary>An option whose value is one of <typeparamref name="T"/>'s names (any case), listed in help and completions.</summary>
    /// <remarks>Null when not given: the caller's default, which <paramref name="description"/> names.</remarks>
    public static Option<T?> Choice<T>(string name, string description)
        where T : struct, Enum
    {
        var option = new Option<T?>(name)
        {
            Description = description,
            HelpName = string.Join('|', Enum.GetNames<T>().Select(n => n.ToLowerInvariant())),
            CustomParser = result => ReportArguments.TryParseEnum<T>(Token(result), out var value) ? value
                : Fail<T?>(result, $"{name} '{Token(result)}' is not one of {ReportArguments.Names<T>()}."),
        };
        option.CompletionSources.Clear(); // the names as written on the command line, not the enum's own casing
        option.CompletionSources.Add([.. Enum.GetNames<T>().Select(n => n.ToLowerInvariant())]);
        return option;
    }

    /// <summary>The one token an option was given.</summary>
    public static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : "";

    /// <summary>Records <paramref name="message"/> as the parse error and returns a placeholder value.</summary>
    public static T Fail<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }
}
