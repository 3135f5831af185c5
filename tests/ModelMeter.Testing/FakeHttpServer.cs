namespace ModelMeter.Testing;

/// <summary>
/// The one fake HTTP server of the tests: real Kestrel on a free loopback port with the routes a test maps (an upstream
/// that misbehaves on purpose, a webhook receiver), no logging, stopped at dispose.
/// </summary>
public sealed class FakeHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeHttpServer(WebApplication app) => _app = app;

    /// <summary>The server's base address, <c>http://127.0.0.1:port</c>.</summary>
    public string Url => _app.Urls.First();

    /// <summary>Starts a server whose routes <paramref name="map"/> adds.</summary>
    public static async Task<FakeHttpServer> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new FakeHttpServer(app);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
