using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ModelMeter.Testing;

/// <summary>A ModelMeter host as its own OS process (<c>dotnet ModelMeter.Server.dll</c>, or another app such as the library sample), for tests that kill it or chain servers.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Client { get; }

    /// <summary>Starts the app with <paramref name="settings"/> as command-line configuration and waits until <paramref name="readyPath"/> answers 200.</summary>
    /// <param name="contentRoot">The app's content root and working directory.</param>
    /// <param name="settings">Configuration, given as <c>--key=value</c> arguments.</param>
    /// <param name="assemblyPath">The app to run; the server next to the tests when null.</param>
    /// <param name="readyPath">The readiness route.</param>
    /// <param name="environment">Environment variables for the process; with any <c>ASPNETCORE_*</c> address in it, no <c>--urls</c> is passed.</param>
    public static async Task<ServerProcess> StartAsync(
        string contentRoot, IReadOnlyDictionary<string, string?> settings, string? assemblyPath = null, string readyPath = "/readyz",
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = contentRoot };
        start.ArgumentList.Add(assemblyPath ?? Path.Combine(AppContext.BaseDirectory, "ModelMeter.Server.dll"));
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        if (environment?.Keys.Any(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)) != true)
        {
            start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        }

        start.ArgumentList.Add($"--contentRoot={contentRoot}");
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = process.StandardError.ReadToEndAsync();
        var exited = Task.Run(async () =>
        {
            var output = new System.Text.StringBuilder();
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                output.AppendLine(line);
                if (ListeningOn().Match(line) is { Success: true } match)
                {
                    // Any interface ([::], 0.0.0.0) is reached through loopback.
                    address.TrySetResult(new Uri($"http://127.0.0.1:{match.Groups[1].Value}"));
                }
            }

            var exit = new ServerExitedException(output + await errors);
            address.TrySetException(exit);
            return exit;
        });

        var server = new ServerProcess(process, await address.Task.WaitAsync(TimeSpan.FromSeconds(60)));
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await server.Client.GetAsync(readyPath)).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Refused: it may have listened, then stopped its start (a check after binding failed). Say what it printed.
                if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(5))) == exited)
                {
                    await server.DisposeAsync();
                    throw await exited;
                }
            }

            await Task.Delay(100);
        }

        return server;
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
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
    }

    [GeneratedRegex(@"Now listening on: http://[^\s]*:(\d+)$")]
    private static partial Regex ListeningOn();

    /// <summary>The process ended before it listened; the message holds what it printed.</summary>
    public sealed class ServerExitedException(string output) : Exception($"The server exited before listening:\n{output}");
}
