using ModelMeter.Ledger.ClickHouse;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>
/// Debian's real ClickHouse (18.16) on free loopback ports with a temporary data directory; stopped and started again on
/// the same ports and data for an outage.
/// </summary>
public sealed class ClickHouseServer : IAsyncDisposable
{
    private static readonly HttpClient Ping = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Daemon _daemon;

    private ClickHouseServer(Daemon daemon, Uri url)
    {
        _daemon = daemon;
        Url = url;
        Client = new ClickHouseClient(new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, Url);
    }

    /// <summary>The HTTP interface.</summary>
    public Uri Url { get; }

    /// <summary>A client for the test's own queries.</summary>
    public ClickHouseClient Client { get; }

    public static async Task<ClickHouseServer> StartAsync()
    {
        var (httpPort, tcpPort) = (FreePorts.Next(), FreePorts.Next());
        var url = new Uri($"http://127.0.0.1:{httpPort}/");
        var daemon = await Daemon.StartAsync(
            "/usr/sbin/clickhouse-server", "clickhouse",
            directory => [$"--config-file={Path.Combine(directory, "config.xml")}"],
            async () => (await Ping.GetAsync(new Uri(url, "ping"))).IsSuccessStatusCode,
            prepare: directory => File.WriteAllTextAsync(Path.Combine(directory, "config.xml"), $"""
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
                """));
        return new ClickHouseServer(daemon, url);
    }

    /// <summary>Starts the server again on the same ports and data and waits until it answers.</summary>
    public Task StartAgainAsync() => _daemon.StartAgainAsync();

    /// <summary>Stops the server (SIGKILL: an outage, not a shutdown) and waits until it is gone.</summary>
    public Task StopAsync() => _daemon.StopAsync();

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();
}
