using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Cli;

/// <summary><c>ModelMeter.Server demo-traffic</c>: real requests to a running server, at the asked rate.</summary>
public sealed partial class DemoTrafficTests
{
    [Fact]
    public async Task DemoTraffic_SendsRequestsAtTheRate_OnlyToDemoModels_AsTenantDemo()
    {
        // A paid gateway model beside the demo models must get none of it (its upstream is a closed port: a request would fail).
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Models:paid-api:Backend"] = "OpenAI";
        settings["ModelMeter:Models:paid-api:BaseUrl"] = $"http://127.0.0.1:{FreePorts.Next()}/v1";
        settings["ModelMeter:Models:paid-api:Price:InputPerMillion"] = "1000";
        settings["ModelMeter:Models:paid-api:Price:OutputPerMillion"] = "1000";
        await using var server = await RunningServer.StartAsync(settings);
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
        Assert.Equal(["demo"], rows.Select(r => r.Tenant).Distinct());
        Assert.Equal(["demo-large", "demo-medium", "demo-small"], rows.Select(r => r.Model).Distinct().Order());

        // Reports filter it: tenant=demo is the demo traffic (no idle time), any other tenant has none of it.
        var demo = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model&tenant=demo");
        var other = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model&tenant=acme");
        using var invalid = await server.Client.GetAsync("/api/costs/summary?tenant=a%20b");
        Assert.Equal(answered, demo.GetProperty("rows").EnumerateArray().Sum(r => r.GetProperty("requests").GetInt32()));
        Assert.DoesNotContain(demo.GetProperty("rows").EnumerateArray(), r => r.GetProperty("key").GetString()!.StartsWith('('));
        Assert.Equal(LedgerFile.RequestCostUsd(server.LedgerPath), demo.GetProperty("total_usd").GetDouble(), 9);
        Assert.Empty(other.GetProperty("rows").EnumerateArray());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("tenant", await invalid.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DemoTraffic_ServerWithoutDemoModels_RefusedByTheButtonAndTheCommand()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelMeter:Models:paid-api:Backend"] = "OpenAI",
            ["ModelMeter:Models:paid-api:BaseUrl"] = $"http://127.0.0.1:{FreePorts.Next()}/v1",
            ["ModelMeter:Models:paid-api:Price:InputPerMillion"] = "1000",
            ["ModelMeter:Models:paid-api:Price:OutputPerMillion"] = "1000",
        };
        await using var server = await RunningServer.StartAsync(settings);
        using var output = new StringWriter();
        using var error = new StringWriter();

        using var button = await server.Client.PostAsync("/api/demo-traffic", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var code = await Task.Run(() => CommandLine.Run(["demo-traffic", "--rps", "10", "--duration", "1s", "--url", server.Client.BaseAddress!.ToString()], output, error));

        Assert.Equal(System.Net.HttpStatusCode.Conflict, button.StatusCode);
        Assert.Contains("demo models", await button.Content.ReadAsStringAsync());
        Assert.NotEqual(0, code);
        Assert.Contains("no demo model", error.ToString());
        Assert.Empty(LedgerFile.RequestIds(server.LedgerPath));
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
