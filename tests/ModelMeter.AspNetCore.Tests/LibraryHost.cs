using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace ModelMeter.AspNetCore.Tests;

/// <summary>
/// An ASP.NET Core app that only adds ModelMeter (no server project, no ONNX): one <c>External</c> model on a CPU
/// device at 1 USD per second, on real Kestrel at 127.0.0.1 with a free port, its ledger in a temp directory, and a fake
/// clock (<see cref="Time"/>) that moves only when a test advances it, so a charge is exact.
/// </summary>
internal sealed class LibraryHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _contentRoot;

    private LibraryHost(WebApplication app, string contentRoot, FakeTimeProvider time)
    {
        _app = app;
        _contentRoot = contentRoot;
        Time = time;
    }

    /// <summary>The app's clock: device time passes only when the test advances it.</summary>
    public FakeTimeProvider Time { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>A client for the app's own endpoints.</summary>
    public HttpClient Client() => new() { BaseAddress = new Uri(_app.Urls.First()) };

    public string LedgerPath => Path.Combine(_contentRoot, "data", "ledger.db");

    /// <param name="extra">More configuration.</param>
    /// <param name="map">The application's own endpoints.</param>
    public static async Task<LibraryHost> StartAsync(Dictionary<string, string?>? extra = null, Action<WebApplication>? map = null)
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-library-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = contentRoot, EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["ModelMeter:Devices:cpu:HourlyUsd"] = "3600",
            ["ModelMeter:Models:ext:Backend"] = "External",
            ["ModelMeter:Models:ext:Device"] = "cpu",
        });
        builder.Configuration.AddInMemoryCollection(extra ?? []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(Metrics.NewCustomRegistry());
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddModelMeter(builder.Configuration);
        var app = builder.Build();
        map?.Invoke(app);
        await app.StartAsync();

        // The models load in the background (the server answers health checks at once): wait, with a deadline.
        var catalog = app.Services.GetRequiredService<ModelMeter.AspNetCore.Catalog.ModelCatalog>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!catalog.IsReady)
        {
            Assert.True(DateTime.UtcNow < deadline, "The models did not load within 30 s.");
            await Task.Delay(10);
        }

        return new LibraryHost(app, contentRoot, time);
    }

    /// <summary>The status of each ledger row of <paramref name="requestId"/> (read from the file, as a report would).</summary>
    public IReadOnlyList<string> RowStatuses(string requestId) => Rows($"WHERE request_id = '{requestId.Replace("'", "''")}'");

    /// <summary>The status of every ledger row, oldest first.</summary>
    public IReadOnlyList<string> AllStatuses() => Rows("ORDER BY id");

    private IReadOnlyList<string> Rows(string where)
    {
        using var connection = new SqliteConnection($"Data Source={LedgerPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT status FROM requests {where}";
        using var reader = command.ExecuteReader();
        var statuses = new List<string>();
        while (reader.Read())
        {
            statuses.Add(reader.GetString(0));
        }

        return statuses;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }
}
