using System.Net;
using System.Net.Http.Json;

namespace ModelMeter.Server.Tests.Hosting;

/// <summary>
/// /metrics of the server as users run it: its own process, prometheus-net's default registry, whose meter adapter starts
/// at the first scrape and listens to System.Diagnostics.Metrics meters.
/// </summary>
public sealed class DefaultRegistryTests : IDisposable
{
    private readonly string _contentRoot = Directory.CreateTempSubdirectory("modelmeter-registry-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }

    [Fact]
    public async Task AfterTheFirstScrape_GenAiHistogramsAreNotRecordedAgain_NorPrivateMeters_OtherMetersAre()
    {
        await using var server = await ServerProcess.StartAsync(_contentRoot, RunningServer.DemoSettings(models: "demo-small"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/metrics")).StatusCode); // starts the meter adapter

        for (var i = 0; i < 2; i++)
        {
            using var answer = await server.Client.PostAsJsonAsync("/v1/completions", new { model = "demo-small", prompt = "where did the money go", max_tokens = 3 });
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        var lines = (await server.Client.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains("model_request_duration_seconds_count{model_name=\"demo-small\"} 2", lines);
        // The adapter is on and saw the requests (ASP.NET Core's meter) ...
        Assert.Contains(lines, l => l.StartsWith("microsoft_aspnetcore_hosting_http_server_active_requests{http_request_method=\"POST\"", StringComparison.Ordinal));
        // ... but not ModelMeter's GenAI meter, which would repeat model_request_duration_seconds at about 2 µs a request.
        Assert.DoesNotContain(lines, l => l.StartsWith("modelmeter_gen_ai", StringComparison.Ordinal));
        // Nor .NET's private diagnostics meters (MsQuic's: 32 series of private_internaldiagnostics_*).
        Assert.DoesNotContain(lines, l => l.StartsWith("private_internaldiagnostics", StringComparison.Ordinal));
    }
}
