using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Hosting;

namespace ModelMeter.Server.Cli;

/// <summary>
/// <c>POST /api/demo-traffic</c>: the dashboard's "Send demo traffic" button. Sends a minute of requests (5 a second)
/// to this server's own models in the background, as <c>ModelMeter.Server demo-traffic</c> does from outside. Only with
/// auth off (the requests carry no keys); one run at a time.
/// </summary>
internal static class DemoTrafficEndpoint
{
    private const double RequestsPerSecond = 5;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);
    private static int _running;

    public static void MapDemoTraffic(this IEndpointRouteBuilder app) =>
        app.MapPost("/api/demo-traffic", (HttpContext http, IServer server, IOptions<ModelMeterOptions> options, IHostApplicationLifetime lifetime) =>
        {
            if (!http.Request.HasJsonContentType())
            {
                // A cross-site page can post a form or text/plain, not application/json without asking first.
                return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported Media Type", detail: "Send Content-Type: application/json (an empty object will do).");
            }

            if (options.Value.Auth.Enabled)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Auth is on",
                    detail: "Demo traffic carries no API keys, so it runs only with auth off; use ModelMeter.Server demo-traffic against a test server.");
            }

            if (!options.Value.Models.Any(m => DemoTraffic.IsDemo(m.Key, m.Value.Backend)))
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "No demo models",
                    detail: "Demo traffic goes only to the demo models (demo-small, demo-medium, demo-large), and this server serves none; it would otherwise spend real money.");
            }

            if (ServerAddresses.Local(server) is not { } baseAddress)
            {
                return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not listening", detail: "The server does not know its own address yet.");
            }

            if (Interlocked.CompareExchange(ref _running, 1, 0) != 0)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already running", detail: "Demo traffic is already being sent; wait for it to end.");
            }

            _ = Task.Run(async () =>
            {
                using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(120) };
                try
                {
                    await new DemoTraffic(client).RunAsync(RequestsPerSecond, Duration, lifetime.ApplicationStopping);
                }
                catch (Exception e) when (e is HttpRequestException or InvalidOperationException or OperationCanceledException)
                {
                    // The server stopped, or has no ready model: nothing more to send.
                }
                finally
                {
                    Interlocked.Exchange(ref _running, 0);
                }
            });
            return Results.Json(new { requests_per_second = RequestsPerSecond, seconds = Duration.TotalSeconds }, statusCode: StatusCodes.Status202Accepted);
        });
}
