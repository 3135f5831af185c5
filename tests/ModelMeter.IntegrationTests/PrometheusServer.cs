using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.IntegrationTests;

/// <summary>Debian's real Prometheus as a child process on a free loopback port with a temporary data directory.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Daemon _daemon;

    private PrometheusServer(Daemon daemon, HttpClient client)
    {
        _daemon = daemon;
        Client = client;
    }

    public HttpClient Client { get; }

    /// <summary>Writes <paramref name="config"/>, backfills <paramref name="openMetrics"/> (if any) with promtool, starts Prometheus and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string config, string? openMetrics = null)
    {
        var port = FreePorts.Next();
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        var daemon = await Daemon.StartAsync(
            "prometheus", "prometheus",
            directory =>
            [
                $"--config.file={Path.Combine(directory, "prometheus.yml")}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
                "--enable-feature=exemplar-storage", // as a user who links latency to traces runs it
            ],
            async () => (await client.GetAsync("/-/ready")).IsSuccessStatusCode,
            prepare: async directory =>
            {
                var data = Path.Combine(directory, "data");
                Directory.CreateDirectory(data);
                await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), config);
                if (openMetrics is not null)
                {
                    await File.WriteAllTextAsync(Path.Combine(directory, "backfill.om"), openMetrics);
                    var (exitCode, output) = await Tools.RunAsync("promtool", directory, "tsdb", "create-blocks-from", "openmetrics", "backfill.om", data);
                    Assert.True(exitCode == 0, $"promtool backfill failed: {output}");
                }
            },
            startTimeout: TimeSpan.FromSeconds(30));
        return new PrometheusServer(daemon, client);
    }

    /// <summary>Runs an instant query; fails the test on a query error. Returns <c>data.result</c>.</summary>
    public async Task<JsonElement> QueryAsync(string promql, DateTimeOffset? at = null)
    {
        var form = new Dictionary<string, string> { ["query"] = promql };
        if (at is { } time)
        {
            form["time"] = (time.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
        }

        using var response = await Client.PostAsync("/api/v1/query", new FormUrlEncodedContent(form));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("status").GetString() == "success",
            $"Query failed ({(int)response.StatusCode}): {promql}\n{body}");
        return body.GetProperty("data").GetProperty("result");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _daemon.DisposeAsync();
    }
}
