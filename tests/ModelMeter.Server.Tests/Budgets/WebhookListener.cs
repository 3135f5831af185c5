using System.Collections.Concurrent;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Budgets;

/// <summary>A local HTTP endpoint on a free loopback port that keeps every JSON body posted to it.</summary>
internal sealed class WebhookListener : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookListener(WebApplication app) => _app = app;

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    public string Url => _app.Urls.First() + "/hook";

    public static async Task<WebhookListener> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var listener = new WebhookListener(app);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            listener.Received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
            return Results.Ok();
        });
        await app.StartAsync();
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
