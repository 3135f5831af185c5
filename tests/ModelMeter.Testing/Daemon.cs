using System.Collections.Concurrent;
using System.Diagnostics;

namespace ModelMeter.Testing;

/// <summary>
/// An external daemon (Redis, ClickHouse, Prometheus: Debian's real ones) as a child process in its own temporary
/// directory: started until a readiness check passes (or it exits, or a deadline passes, each failing with its last
/// output), started again on the same ports and data after a stop (an outage), stopped by its own process id.
/// </summary>
public sealed class Daemon : IAsyncDisposable
{
    private const int OutputLines = 40;
    private readonly string _executable;
    private readonly Func<IReadOnlyList<string>> _arguments;
    private readonly Func<Task<bool>> _ready;
    private readonly TimeSpan _startTimeout;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private Daemon(string executable, string directory, Func<IReadOnlyList<string>> arguments, Func<Task<bool>> ready, TimeSpan startTimeout)
    {
        _executable = executable;
        Directory = directory;
        _arguments = arguments;
        _ready = ready;
        _startTimeout = startTimeout;
    }

    /// <summary>The daemon's own temporary directory (its working directory; deleted at dispose).</summary>
    public string Directory { get; }

    /// <summary>The daemon's last lines of output, for a failure message.</summary>
    public string LastOutput => string.Join('\n', _output);

    /// <summary>Makes the directory, lets <paramref name="prepare"/> write its files, starts the daemon and waits until <paramref name="ready"/> says so.</summary>
    /// <param name="executable">The program, by path or name on PATH; a missing one fails naming the Debian package eng/test.sh installs.</param>
    /// <param name="name">A short name for the directory and messages.</param>
    /// <param name="arguments">The command line, given the directory.</param>
    /// <param name="ready">Whether the daemon answers (exceptions count as not yet).</param>
    /// <param name="prepare">Writes configuration into the directory before the first start.</param>
    /// <param name="startTimeout">How long a start may take; default 60 s.</param>
    public static async Task<Daemon> StartAsync(
        string executable, string name, Func<string, IReadOnlyList<string>> arguments, Func<Task<bool>> ready, Func<string, Task>? prepare = null, TimeSpan? startTimeout = null)
    {
        Assert.True(executable.Contains('/') ? File.Exists(executable) : OnPath(executable), $"{executable} is missing: eng/test.sh installs it from Debian.");
        var directory = System.IO.Directory.CreateTempSubdirectory($"modelmeter-{name}-").FullName;
        if (prepare is not null)
        {
            await prepare(directory);
        }

        var daemon = new Daemon(executable, directory, () => arguments(directory), ready, startTimeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await daemon.StartAgainAsync();
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    /// <summary>Starts the daemon (again) with the same arguments and waits until it is ready.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo(_executable) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in _arguments())
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_executable}.");
        _process = process;
        _ = KeepAsync(process.StandardOutput);
        _ = KeepAsync(process.StandardError);
        var deadline = DateTime.UtcNow + _startTimeout;
        while (true)
        {
            Assert.False(process.HasExited, $"{_executable} exited with {(process.HasExited ? process.ExitCode : 0)}:\n{LastOutput}");
            try
            {
                if (await _ready())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TaskCanceledException)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"{_executable} was not ready within {_startTimeout.TotalSeconds} s:\n{LastOutput}");
            await Task.Delay(50);
        }
    }

    /// <summary>Stops the daemon (SIGKILL: an outage, not a shutdown) and waits until it is gone.</summary>
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
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file may still be held for a moment; the temporary directory is left behind then.
        }
    }

    private async Task KeepAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLines && _output.TryDequeue(out _))
            {
            }
        }
    }

    private static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));
}
