using System.Collections.Concurrent;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Budgets;

/// <summary>A local HTTP endpoint on a free loopback port that keeps every JSON body posted to it (or, hanging, never answers).</summary>
internal sealed class WebhookListener : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _arrived;
    private int _abandoned;

    private WebhookListener(WebApplication app) => _app = app;

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    public string Url => _app.Urls.First() + "/hook";

    /// <summary>Requests that arrived at a hanging hook.</summary>
    public int Arrived => _arrived;

    /// <summary>Requests to a hanging hook that the sender gave up on.</summary>
    public int Abandoned => _abandoned;

    /// <param name="hang">Accept each request and never answer it.</param>
    public static async Task<WebhookListener> StartAsync(bool hang = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var listener = new WebhookListener(app);
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            if (hang)
            {
                Interlocked.Increment(ref listener._arrived);
                try
                {
                    await Task.Delay(Timeout.Infinite, request.HttpContext.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref listener._abandoned);
                    throw;
                }
            }

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
