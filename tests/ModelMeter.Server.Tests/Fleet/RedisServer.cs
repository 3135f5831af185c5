using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>Debian's real redis-server on a free loopback port, no persistence; stopped and started again on the same port for an outage.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly Daemon _daemon;

    private RedisServer(Daemon daemon, int port)
    {
        _daemon = daemon;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var port = FreePorts.Next();
        var daemon = await Daemon.StartAsync(
            "/usr/bin/redis-server", "redis",
            directory => ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory],
            () => PingAsync(port), startTimeout: TimeSpan.FromSeconds(30));
        return new RedisServer(daemon, port);
    }

    /// <summary>Starts the server again on the same port, empty, and waits until it answers PING.</summary>
    public Task StartAgainAsync() => _daemon.StartAgainAsync();

    /// <summary>Stops the server (SIGKILL: an outage) and waits until it is gone.</summary>
    public Task StopAsync() => _daemon.StopAsync();

    /// <summary>A connection for a test's own use (or to play a replica).</summary>
    public async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 500;
        options.SyncTimeout = 500;
        options.AsyncTimeout = 500;
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    public ValueTask DisposeAsync() => _daemon.DisposeAsync();

    private static async Task<bool> PingAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray());
        var buffer = new byte[16];
        return await stream.ReadAsync(buffer) > 0 && buffer[0] == (byte)'+';
    }
}
