using System.Diagnostics;
using ModelMeter.Ledger.ClickHouse;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>
/// Debian's real ClickHouse (18.16) as a child process on free loopback ports with a temporary data directory; it can be
/// stopped and started again on the same ports and data (an outage), and is stopped by its own process id.
/// </summary>
public sealed class ClickHouseServer : IAsyncDisposable
{
    private const string Executable = "/usr/sbin/clickhouse-server";
    private readonly string _directory;
    private readonly int _httpPort;
    private Process? _process;

    private ClickHouseServer(string directory, int httpPort)
    {
        _directory = directory;
        _httpPort = httpPort;
        Url = new Uri($"http://127.0.0.1:{httpPort}/");
        Client = new ClickHouseClient(new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, Url);
    }

    /// <summary>The HTTP interface.</summary>
    public Uri Url { get; }

    /// <summary>A client for the test's own queries.</summary>
    public ClickHouseClient Client { get; }

    public static async Task<ClickHouseServer> StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: eng/test.sh installs Debian's clickhouse-server.");
        var directory = Directory.CreateTempSubdirectory("modelmeter-clickhouse-").FullName;
        var (httpPort, tcpPort) = (FreePorts.Next(), FreePorts.Next());
        await File.WriteAllTextAsync(Path.Combine(directory, "config.xml"), $"""
            <?xml version="1.0"?>
            <yandex>
              <logger><level>warning</level><log>{directory}/server.log</log><errorlog>{directory}/error.log</errorlog><console>0</console></logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{httpPort}</http_port>
              <tcp_port>{tcpPort}</tcp_port>
              <path>{directory}/data/</path>
              <tmp_path>{directory}/tmp/</tmp_path>
              <user_files_path>{directory}/user_files/</user_files_path>
              <format_schema_path>{directory}/format_schemas/</format_schema_path>
              <users_config>/etc/clickhouse-server/users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>5368709</mark_cache_size>
            </yandex>
            """);
        var server = new ClickHouseServer(directory, httpPort);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on the same ports and data and waits until it answers.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Executable) { WorkingDirectory = _directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add($"--config-file={Path.Combine(_directory, "config.xml")}");
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start clickhouse-server.");
        _ = _process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = _process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        using var ping = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"clickhouse-server exited with {_process.ExitCode}; see {_directory}/error.log.");
            }

            try
            {
                if ((await ping.GetAsync(new Uri(Url, "ping"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"clickhouse-server did not answer on port {_httpPort} within 60 s.");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the server (SIGKILL: an outage, not a shutdown) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
