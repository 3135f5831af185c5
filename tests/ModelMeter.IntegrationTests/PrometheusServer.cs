using System.Diagnostics;
using ModelMeter.Server.Tests;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.IntegrationTests;

/// <summary>Debian's real Prometheus as a child process on a free loopback port with a temporary data directory.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    /// <summary>Writes <paramref name="config"/>, backfills <paramref name="openMetrics"/> (if any) with promtool, starts Prometheus and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string config, string? openMetrics = null)
    {
        var directory = Directory.CreateTempSubdirectory("modelmeter-prometheus-").FullName;
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), config);
        if (openMetrics is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "backfill.om"), openMetrics);
            var (exitCode, output) = await Tools.RunAsync("promtool", directory, "tsdb", "create-blocks-from", "openmetrics", "backfill.om", data);
            Assert.True(exitCode == 0, $"promtool backfill failed: {output}");
        }

        var port = FreePorts.Next();
        var start = new ProcessStartInfo("prometheus")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            $"--config.file={Path.Combine(directory, "prometheus.yml")}",
            $"--storage.tsdb.path={data}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start prometheus.");
        var log = Path.Combine(directory, "prometheus.log");
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = Task.Run(async () =>
        {
            await using var file = File.CreateText(log);
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                await file.WriteLineAsync(line);
            }
        });

        var server = new PrometheusServer(process, directory, port);
        for (var i = 0; i < 300; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Prometheus exited with {process.ExitCode}; see {log}.");
            }

            try
            {
                if ((await server.Client.GetAsync("/-/ready")).IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        await server.DisposeAsync();
        throw new TimeoutException("Prometheus was not ready in 30 s.");
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
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The log writer may still hold its file for a moment; the temp directory is left behind then.
        }
    }
}
