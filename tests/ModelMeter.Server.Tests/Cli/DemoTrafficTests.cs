using System.Text.RegularExpressions;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Cli;

/// <summary><c>ModelMeter.Server demo-traffic</c>: real requests to a running server, at the asked rate.</summary>
public sealed partial class DemoTrafficTests
{
    [Fact]
    public async Task DemoTraffic_SendsRequestsAtTheRate_AndEachAnsweredOneIsInTheLedger()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await Task.Run(() => CommandLine.Run(["demo-traffic", "--rps", "10", "--duration", "3s", "--url", server.Client.BaseAddress!.ToString()], output, error));

        Assert.True(code == 0, error.ToString());
        var match = Summary().Match(output.ToString());
        Assert.True(match.Success, output.ToString());
        var answered = int.Parse(match.Groups[1].Value);
        Assert.InRange(answered, 15, 31); // 10 a second for 3 s at most; a busy machine sends fewer, never more
        Assert.Equal("0", match.Groups[2].Value);
        var rows = LedgerFile.Rows(server.LedgerPath, "SELECT tenant, model FROM requests", r => (Tenant: r.GetString(0), Model: r.GetString(1)));
        Assert.Equal(answered, rows.Count);
        Assert.Equal(["acme", "globex", "initech"], rows.Select(r => r.Tenant).Distinct().Order());
        Assert.Equal(3, rows.Select(r => r.Model).Distinct().Count());
    }

    [Theory]
    [InlineData("--rps", "-1")]
    [InlineData("--duration", "soon")]
    public void DemoTraffic_BadArguments_Exit2NamingThem(string flag, string value)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        Assert.Equal(2, CommandLine.Run(["demo-traffic", flag, value], output, error));
        Assert.Contains(flag, error.ToString());
    }

    [GeneratedRegex(@"(\d+) answered, (\d+) failed")]
    private static partial Regex Summary();
}
