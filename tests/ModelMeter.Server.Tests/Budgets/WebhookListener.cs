using System.Collections.Concurrent;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Budgets;

/// <summary>A local HTTP endpoint on a free loopback port that keeps every JSON body posted to it (or, hanging, never answers).</summary>
internal sealed class WebhookListener : IAsyncDisposable
{
    private FakeHttpServer _server = null!;
    private int _arrived;
    private int _abandoned;

    public ConcurrentQueue<JsonElement> Received { get; } = new();

    public string Url => _server.Url + "/hook";

    /// <summary>Requests that arrived at a hanging hook.</summary>
    public int Arrived => _arrived;

    /// <summary>Requests to a hanging hook that the sender gave up on.</summary>
    public int Abandoned => _abandoned;

    /// <param name="hang">Accept each request and never answer it.</param>
    public static async Task<WebhookListener> StartAsync(bool hang = false)
    {
        var listener = new WebhookListener();
        listener._server = await FakeHttpServer.StartAsync(app => app.MapPost("/hook", async (HttpRequest request) =>
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
        }));
        return listener;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
