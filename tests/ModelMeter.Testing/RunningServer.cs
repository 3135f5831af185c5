using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using ModelMeter.Server;
using Prometheus;

namespace ModelMeter.Testing;

/// <summary>The real server on Kestrel at a free loopback port, configured in memory, with its own metrics registry.</summary>
public sealed partial class RunningServer : IAsyncDisposable
{
    /// <summary>Demo models are written once here and shared by every server of the test run.</summary>
    public static readonly string ModelsDirectory = Path.Combine(AppContext.BaseDirectory, "models");

    private readonly WebApplication _app;
    private readonly bool _ownsContentRoot;

    private RunningServer(WebApplication app, string contentRoot, bool ownsContentRoot)
    {
        _app = app;
        ContentRoot = contentRoot;
        _ownsContentRoot = ownsContentRoot;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(120) };
    }

    public HttpClient Client { get; }

    /// <summary>The server's content root; its ledger is data/ledger.db below it.</summary>
    public string ContentRoot { get; }

    public string LedgerPath => Path.Combine(ContentRoot, "data", "ledger.db");

    public IServiceProvider Services => _app.Services;

    /// <summary>The demo models (all three unless <paramref name="models"/> names some) on one CPU device at <paramref name="hourlyUsd"/>.</summary>
    public static Dictionary<string, string?> DemoSettings(double hourlyUsd = 3600, params string[] models)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ModelMeter:Devices:cpu:HourlyUsd"] = hourlyUsd.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var model in models is [] ? ["demo-small", "demo-medium", "demo-large"] : models)
        {
            settings[$"ModelMeter:Models:{model}:Path"] = Path.Combine(ModelsDirectory, model);
            settings[$"ModelMeter:Models:{model}:Device"] = "cpu";
            settings[$"ModelMeter:Models:{model}:WarmUpTokens"] = "0"; // seconds a server on 2 cores; its own tests turn it on
        }

        return settings;
    }

    /// <param name="settings">Configuration.</param>
    /// <param name="waitUntilReady">Wait until /readyz answers 200.</param>
    /// <param name="contentRoot">Reuse a content root (and so its ledger); a new temp directory when null, deleted at dispose.</param>
    /// <param name="services">Registers services before the server's own (a TimeProvider, ...).</param>
    public static async Task<RunningServer> StartAsync(
        Dictionary<string, string?> settings, bool waitUntilReady = true, string? contentRoot = null, Action<IServiceCollection>? services = null)
    {
        var ownsContentRoot = contentRoot is null;
        contentRoot ??= Directory.CreateTempSubdirectory("modelmeter-server-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = contentRoot, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection([new("Urls", "http://127.0.0.1:0")]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(Metrics.NewCustomRegistry());
        services?.Invoke(builder.Services);
        builder.AddModelMeterServer();
        var app = builder.Build();
        app.MapModelMeterServer();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (ownsContentRoot)
            {
                Directory.Delete(contentRoot, recursive: true);
            }

            throw;
        }

        var server = new RunningServer(app, contentRoot, ownsContentRoot);
        if (waitUntilReady)
        {
            await server.WaitUntilReadyAsync();
        }

        return server;
    }

    public async Task WaitUntilReadyAsync()
    {
        for (var i = 0; i < 1200; i++)
        {
            if ((await Client.GetAsync("/readyz")).IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("The server did not become ready in 120 s.");
    }

    public Task<HttpResponseMessage> GenerateAsync(string model, object body, CancellationToken cancellationToken = default) =>
        Client.PostAsJsonAsync($"/v1/generate/{model}", body, cancellationToken);

    /// <summary>Scrapes /metrics into "name{labels}" → value; <paramref name="key"/> is the bearer key when auth is on.</summary>
    public async Task<Dictionary<string, double>> ScrapeAsync(string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await Client.SendAsync(request);
        var text = await response.EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (match.Success)
            {
                samples[match.Groups[1].Value] = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        return samples;
    }

    /// <summary>Stops the server gracefully (the ledger drains) without deleting its content root.</summary>
    public async Task StopAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            await _app.StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }

        await _app.DisposeAsync();
        if (_ownsContentRoot)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(ContentRoot, recursive: true);
        }
    }

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$")]
    private static partial Regex SampleLine();
}
