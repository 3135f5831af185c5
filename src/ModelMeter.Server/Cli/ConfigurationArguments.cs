using System.CommandLine;

namespace ModelMeter.Server.Cli;

/// <summary>
/// The tokens System.CommandLine leaves to configuration: <c>--Section:Key=value</c>, <c>--Section:Key value</c> or
/// <c>Section:Key=value</c>, read by ASP.NET Core's command-line configuration provider. Anything else is a mistake
/// (a verb misspelt, an option the verb does not have) and is named instead of ignored.
/// </summary>
internal static class ConfigurationArguments
{
    /// <summary>Host keys that configure the verbs too, besides <c>Section:Key</c> ones.</summary>
    private static readonly HashSet<string> HostKeys = new(["contentRoot", "environment", "applicationName"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The configuration arguments of <paramref name="parsed"/>, as the host's builder takes them.</summary>
    public static string[] Of(ParseResult parsed) => [.. parsed.UnmatchedTokens];

    /// <summary>What is wrong with the configuration arguments: a bare word, a key with no value, an option the verb does not have.</summary>
    public static IEnumerable<string> Problems(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var serving = command is RootCommand || command.Name == ServeCommand.Name;
        var tokens = parsed.UnmatchedTokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var named = token.StartsWith("--", StringComparison.Ordinal) || (token.StartsWith('/') && token.Length > 1);
            var key = (named ? token.TrimStart('-', '/') : token).Split('=', 2)[0];
            if (!named && !token.Contains('='))
            {
                yield return serving && i == 0
                    ? $"'{token}' is not a verb: serve, report, reprice, demo-traffic, hash-key or health."
                    : $"'{token}' is not an option or a setting (settings are --Section:Key=value).";
                yield break;
            }

            if (!serving && !key.Contains(':') && !HostKeys.Contains(key))
            {
                yield return $"{command.Name} has no option '{token.Split('=', 2)[0]}'.";
                yield break;
            }

            if (named && !token.Contains('=') && ++i >= tokens.Count)
            {
                yield return $"The setting '{token}' has no value.";
            }
        }
    }
}
