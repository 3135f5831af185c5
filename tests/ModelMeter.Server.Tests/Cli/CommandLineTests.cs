using System.Globalization;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Cli;

public sealed class CommandLineTests : IAsyncLifetime
{
    private string _contentRoot = "";

    private string LedgerPath => Path.Combine(_contentRoot, "data", "ledger.db");

    public async Task InitializeAsync()
    {
        _contentRoot = Directory.CreateTempSubdirectory("modelmeter-cli-").FullName;
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600), contentRoot: _contentRoot);
        foreach (var model in new[] { "demo-small", "demo-medium", "demo-small" })
        {
            (await server.GenerateAsync(model, new { prompt = "report me", max_tokens = 5 })).EnsureSuccessStatusCode();
        }

        foreach (var user in new[] { "=HYPERLINK(\"http://x\")", "-2+3", "plain, with comma" })
        {
            (await server.GenerateAsync("demo-large", new { prompt = "report me", max_tokens = 1, user })).EnsureSuccessStatusCode();
        }
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public void Report_Csv_MatchesTheLedgerRows()
    {
        var (code, output, _) = Run("report", "--by", "model", "--since", "1h", "--format", "csv", "--ledger", LedgerPath);

        Assert.Equal(0, code);
        var lines = output.Trim().Split('\n');
        Assert.Equal("model,requests,input_tokens,output_tokens,cost_usd,idle_usd,total_usd,cached_input_tokens,cache_write_tokens,reasoning_tokens,energy_j,co2e_g", lines[0]);
        var rows = lines[1..].Select(l => l.Split(',')).ToDictionary(f => f[0]);
        Assert.Equal("2", rows["demo-small"][1]);
        Assert.Equal("1", rows["demo-medium"][1]);
        var reportedUsd = rows.Values.Where(f => !f[0].StartsWith("(idle)", StringComparison.Ordinal)).Sum(f => double.Parse(f[4], CultureInfo.InvariantCulture));
        Assert.Equal(LedgerFile.RequestCostUsd(LedgerPath), reportedUsd, 12);
    }

    [Fact]
    public void Report_CsvByUser_NeutralisesFormulasAndQuotes()
    {
        var (code, output, _) = Run("report", "--by", "user", "--since", "1h", "--format", "csv", "--ledger", LedgerPath);

        Assert.Equal(0, code);
        Assert.Contains("\n\"'=HYPERLINK(\"\"http://x\"\")\",1,", output);
        Assert.Contains("\n'-2+3,1,", output);
        Assert.Contains("\n\"plain, with comma\",1,", output);
    }

    [Fact]
    public void Report_Table_IsReadableWithATotalLine()
    {
        var (code, output, _) = Run("report", "--since", "1h", "--ledger", LedgerPath);

        Assert.Equal(0, code);
        Assert.StartsWith("Cost by model, ", output);
        Assert.Contains("demo-medium", output);

        // Each row's share is its total over the grand total, and the shares add up to 100 %.
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var grand = Numbers(lines.Single(l => l.StartsWith("total", StringComparison.Ordinal)))[^2];
        var rows = lines.Skip(2).Where(l => !l.StartsWith("total", StringComparison.Ordinal)).Select(Numbers).ToList();
        Assert.True(rows.Count >= 3, output);
        Assert.All(rows, r => Assert.InRange(Math.Abs(100 * r[^2] / grand - r[^1]), 0, 0.051)); // shown to 0.1 %
        Assert.InRange(rows.Sum(r => r[^1]), 99.5, 100.5);
    }

    /// <summary>The numbers of a table line (the share's '%' dropped), so [^2] is the total and [^1] the share.</summary>
    private static double[] Numbers(string line) =>
        line.Replace("%", " ", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN)
            .Where(double.IsFinite).ToArray();

    [Fact]
    public void Report_BadFlag_ExitsWith2AndSaysWhy()
    {
        var (code, _, error) = Run("report", "--by", "planet", "--ledger", LedgerPath);

        Assert.Equal(2, code);
        Assert.Contains("--by 'planet'", error);
    }

    [Fact]
    public void Reprice_RateDoubled_DoublesTheTotalAndSaysHowManyRowsChanged()
    {
        var before = LedgerFile.RequestCostUsd(LedgerPath) + LedgerFile.IdleCostUsd(LedgerPath);
        var rows = LedgerFile.Rows(LedgerPath, "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM idle)", r => r.GetInt64(0)).Single();

        var (code, output, _) = Run("reprice", "--from", "2020-01-01T00:00:00Z", "--ledger", LedgerPath, "--ModelMeter:Devices:cpu:HourlyUsd=7200");

        Assert.Equal(0, code);
        var after = LedgerFile.RequestCostUsd(LedgerPath) + LedgerFile.IdleCostUsd(LedgerPath);
        Assert.Equal(2 * before, after, 9);
        Assert.StartsWith($"Repriced {rows} rows from 2020-01-01 00:00:00 UTC: total {before.ToString("0.000000", CultureInfo.InvariantCulture)} USD before, {after.ToString("0.000000", CultureInfo.InvariantCulture)} USD after", output);
    }

    [Fact]
    public void Reprice_SameRateCard_ChangesNothing()
    {
        var before = LedgerFile.RequestCostUsd(LedgerPath) + LedgerFile.IdleCostUsd(LedgerPath);

        var (code, output, _) = Run("reprice", "--from", "2020-01-01T00:00:00Z", "--ledger", LedgerPath, "--ModelMeter:Devices:cpu:HourlyUsd=3600");

        Assert.Equal(0, code);
        Assert.StartsWith("Repriced 0 rows", output);
        Assert.Equal(before, LedgerFile.RequestCostUsd(LedgerPath) + LedgerFile.IdleCostUsd(LedgerPath));
    }

    [Fact]
    public void Reprice_WithoutFrom_ExitsWith2()
    {
        var (code, _, error) = Run("reprice", "--ledger", LedgerPath);

        Assert.Equal(2, code);
        Assert.Contains("--from", error);
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CommandLine.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
