using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>
/// Debian's real redis-server as a child process on a free loopback port, no persistence, in a temporary directory; it
/// can be stopped and started again on the same port (an outage), and is stopped by its own process id.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private const string Executable = "/usr/bin/redis-server";
    private readonly string _directory;
    private Process? _process;

    private RedisServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        Assert.True(File.Exists(Executable), $"{Executable} is missing: eng/test.sh installs Debian's redis-server.");
        var server = new RedisServer(Directory.CreateTempSubdirectory("modelmeter-redis-").FullName, FreePorts.Next());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the server (again) on the same port, empty, and waits until it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(Executable) { WorkingDirectory = _directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _directory })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-server.");
        _ = _process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = _process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            Assert.False(_process.HasExited, $"redis-server exited with {(_process.HasExited ? _process.ExitCode : 0)}.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                if (await stream.ReadAsync(buffer) > 0 && buffer[0] == (byte)'+')
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"redis-server did not answer on port {Port} within 30 s.");
            await Task.Delay(20);
        }
    }

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

    /// <summary>Stops the server (SIGKILL: an outage) and waits until it is gone.</summary>
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
        Directory.Delete(_directory, recursive: true);
    }
}
