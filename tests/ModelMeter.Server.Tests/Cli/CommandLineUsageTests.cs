using System.Security.Cryptography;
using System.Text;
using ModelMeter.Server.Cli;

namespace ModelMeter.Server.Tests.Cli;

/// <summary>The command line as a user drives it: help for every verb, mistakes named with exit code 2, nothing served by accident.</summary>
public sealed class CommandLineUsageTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void Help_ListsEveryVerb_AndServesNothing(string flag)
    {
        var served = false;
        var (code, output, _) = Run([flag], serve: _ => { served = true; return 0; });

        Assert.Equal(0, code);
        Assert.False(served);
        foreach (var verb in new[] { "serve", "report", "reprice", "demo-traffic", "hash-key", "health" })
        {
            Assert.Contains($"\n  {verb} ", output);
        }

        Assert.Contains("--urls <url>", output);
    }

    [Theory]
    [InlineData("report", "--since <duration>", "--until <time>")]
    [InlineData("reprice", "--from <time>", "--ledger <file>")]
    [InlineData("demo-traffic", "--rps <rate>", "--url <url>")]
    [InlineData("hash-key", "standard input", "Usage:")]
    [InlineData("health", "--ready", "--url <url>")]
    public void VerbHelp_ShowsItsOptions_InsteadOfRunning(string verb, string option, string other)
    {
        var (code, output, error) = Run([verb, "--help"]);

        Assert.Equal(0, code);
        Assert.Contains(option, output);
        Assert.Contains(other, output);
        Assert.DoesNotContain("No ledger", output + error);
    }

    [Fact]
    public void NoVerb_Serves_WithTheSettingsAndUrls()
    {
        string[]? settings = null;
        var (code, _, _) = Run(["--ModelMeter:Limits:MaxTokens=64", "--urls", "http://127.0.0.1:8001"], serve: s => { settings = s; return 0; });

        Assert.Equal(0, code);
        Assert.Equal(["--ModelMeter:Limits:MaxTokens=64", "--urls", "http://127.0.0.1:8001"], settings!);
    }

    [Fact]
    public void Serve_TakesSettingsWithSpaceSeparatedValues()
    {
        string[]? settings = null;
        var (code, _, _) = Run(["serve", "--contentRoot", "/tmp/x", "--ModelMeter:Node=a"], serve: s => { settings = s; return 0; });

        Assert.Equal(0, code);
        Assert.Equal(["--contentRoot", "/tmp/x", "--ModelMeter:Node=a"], settings!);
    }

    [Fact]
    public void NoVerb_FirstSettingEndingWithTheProgramsName_ReachesTheHost()
    {
        // System.CommandLine drops a first token that ends with the program's name (--contentRoot=/srv/ModelMeter.Server).
        var program = new System.CommandLine.RootCommand().Name;
        string[]? settings = null;
        var (code, _, error) = Run([$"--contentRoot=/srv/{program}", "--urls=http://127.0.0.1:8099", "--ModelMeter:Ledger:Path=/tmp/x.db"], serve: s => { settings = s; return 0; });

        Assert.True(code == 0, error);
        Assert.Equal([$"--contentRoot=/srv/{program}", "--ModelMeter:Ledger:Path=/tmp/x.db", "--urls", "http://127.0.0.1:8099"], settings!);
    }

    [Theory]
    [InlineData("reprot", "'reprot' is not a verb")]
    [InlineData("report --sine 3h", "report has no option '--sine'")]
    [InlineData("report --by planet", "--by 'planet' is not one of model, endpoint, tenant, user, device, day, node.")]
    [InlineData("report --format xml", "xml")]
    [InlineData("report --until yesterday", "--until 'yesterday' is not an ISO 8601 time")]
    [InlineData("report --until 0001-01-01T00:00:00Z", "--until '0001-01-01T00:00:00Z' must be between 1970-01-01 and 9000-01-01.")] // was an unhandled exception
    [InlineData("report --by model,tenant", "--by 'model,tenant' is not one of")]
    [InlineData("reprice", "Option '--from' is required")]
    [InlineData("reprice --from soon", "--from 'soon' is not an ISO 8601 time")]
    [InlineData("demo-traffic --rps 0", "--rps '0' must be")]
    [InlineData("demo-traffic --url ftp://x", "--url 'ftp://x' is not an http(s) URL")]
    [InlineData("serve --ModelMeter:Node", "The setting '--ModelMeter:Node' has no value")]
    public void Mistakes_Exit2_NamingTheProblem_AndPointingAtHelp(string line, string message)
    {
        var served = false;
        var (code, output, error) = Run(line.Split(' '), serve: _ => { served = true; return 0; });

        Assert.Equal(2, code);
        Assert.False(served);
        Assert.Contains(message, error);
        Assert.Contains("--help'", error);
        Assert.Equal("", output);
    }

    [Fact]
    public void Report_SinceReachingBefore1970_Exits1_SayingSo()
    {
        var (code, output, error) = Run(["report", "--until", "1970-01-01T00:30:00Z", "--since", "1h"]);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("reaches back before 1970-01-01", error);
    }

    [Theory]
    [InlineData("s3cret-key\n")]
    [InlineData("  s3cret-key\r\n")]
    [InlineData("s3cret-key")]
    public void HashKey_PrintsTheSha256OfTheTrimmedKey(string input)
    {
        var (code, output, _) = Run(["hash-key"], input: input);

        Assert.Equal(0, code);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("s3cret-key"))) + Environment.NewLine, output);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("one\ntwo\n")]
    public void HashKey_NoKeyOrTwo_Exits2(string input)
    {
        var (code, output, error) = Run(["hash-key"], input: input);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains("hash-key", error);
    }

    [Fact]
    public void Health_NothingListening_Exits1()
    {
        var (code, _, error) = Run(["health", "--url", $"http://127.0.0.1:{FreePorts.Next()}"]);

        Assert.Equal(1, code);
        Assert.Contains("/healthz: no answer", error);
    }

    [Theory]
    [InlineData("report")]
    [InlineData("reprice", "--from", "2026-01-01")]
    public void LedgerFileNotALedger_Exits1_NamingThePath(string verb, params string[] rest)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("modelmeter-cli-").FullName, "notes.txt");
        File.WriteAllText(path, new string('x', 4096));
        try
        {
            var (code, output, error) = Run([verb, .. rest, "--ledger", path]);

            Assert.Equal(1, code); // not an unhandled exception's 134
            Assert.Equal("", output);
            Assert.Contains($"The ledger at {path} cannot be opened (SQLite Error 26: 'file is not a database').", error);
            Assert.DoesNotContain("   at ", error);
            Assert.Equal(new string('x', 4096), File.ReadAllText(path)); // left as it was
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("report", true)]
    [InlineData("report", false)]
    [InlineData("reprice", true, "--from", "2026-01-01")]
    public void LedgerFileAnotherDatabaseOrEmpty_Exits1_AndWritesNothingThere(string verb, bool foreign, params string[] rest)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("modelmeter-cli-").FullName, "app.db");
        if (foreign)
        {
            LedgerFile.WriteOtherDatabase(path, "users");
        }
        else
        {
            File.WriteAllBytes(path, []);
        }

        var before = File.ReadAllBytes(path);
        try
        {
            var (code, output, error) = Run([verb, .. rest, "--ledger", path]);

            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Contains($"The ledger at {path} cannot be opened ({path} {(foreign ? "is a SQLite database of something else" : "holds no ledger")}", error);
            Assert.Equal(before, File.ReadAllBytes(path)); // no ledger tables added, no empty file made a ledger
            Assert.False(File.Exists(path + "-wal"));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Theory]
    [InlineData("--ModelMeter:Ledger:Durability=Sometimes", "ModelMeter:Ledger:Durability: 'Sometimes' is not one of Strict, Relaxed.")]
    [InlineData("--ModelMeter:Devices:cpu:HourlyUsd=abc", "ModelMeter:Devices:cpu:HourlyUsd: 'abc' is not a number.")] // not a device left out of the repricing
    public void Reprice_ConfigurationValueOfTheWrongKind_Exits1_NamingIt(string setting, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelmeter-none-{Guid.NewGuid():N}.db");

        var (code, output, error) = Run(["reprice", "--from", "2026-01-01", "--ledger", path, setting]);

        Assert.Equal(1, code); // not an unhandled exception's 134
        Assert.Equal("", output);
        Assert.Equal(message, error.Trim());
    }

    [Theory]
    [InlineData("report")]
    [InlineData("reprice", "--from", "2026-01-01")]
    public void LedgerFileMissing_Exits1_SayingHowToGetOne(string verb, params string[] rest)
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelmeter-none-{Guid.NewGuid():N}.db");

        var (code, _, error) = Run([verb, .. rest, "--ledger", path]);

        Assert.Equal(1, code);
        Assert.Contains($"No ledger at {path}. Start the server once, or give --ledger <file>.", error);
        Assert.False(File.Exists(path)); // not created by looking
    }

    private static (int Code, string Output, string Error) Run(string[] args, Func<string[], int>? serve = null, string input = "")
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CommandLine.Run(args, output, error, new StringReader(input), serve);
        return (code, output.ToString(), error.ToString());
    }
}
