using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace ModelMeter.AspNetCore.Tests;

/// <summary>
/// An ASP.NET Core app that only adds ModelMeter (no server project, no ONNX): one <c>External</c> model on a CPU
/// device at 1 USD per second, on real Kestrel at 127.0.0.1 with a free port, its ledger in a temp directory.
/// </summary>
internal sealed class LibraryHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _contentRoot;

    private LibraryHost(WebApplication app, string contentRoot)
    {
        _app = app;
        _contentRoot = contentRoot;
    }

    public IServiceProvider Services => _app.Services;

    public string LedgerPath => Path.Combine(_contentRoot, "data", "ledger.db");

    public static async Task<LibraryHost> StartAsync(Dictionary<string, string?>? extra = null)
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
        builder.Services.AddModelMeter(builder.Configuration);
        var app = builder.Build();
        await app.StartAsync();
        return new LibraryHost(app, contentRoot);
    }

    /// <summary>The status of each ledger row of <paramref name="requestId"/> (read from the file, as a report would).</summary>
    public IReadOnlyList<string> RowStatuses(string requestId)
    {
        using var connection = new SqliteConnection($"Data Source={LedgerPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT status FROM requests WHERE request_id = $id";
        command.Parameters.AddWithValue("$id", requestId);
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
