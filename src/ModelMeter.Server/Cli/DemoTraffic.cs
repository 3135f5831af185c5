using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Cli;

/// <summary>
/// Real requests to a running ModelMeter's demo models, so that a newcomer sees the charts move: a steady rate of
/// <c>/v1/generate</c> and <c>/v1/chat/completions</c> calls of varied lengths, from a few users. Only the demo ONNX models
/// (<c>demo-small</c>, <c>demo-medium</c>, <c>demo-large</c>) are sent to, never a gateway or paid model, and every row is
/// the tenant <see cref="Tenant"/>'s, so that reports tell it apart from real traffic.
/// </summary>
internal sealed class DemoTraffic(HttpClient client, TimeProvider? time = null)
{
    /// <summary>The tenant demo traffic is billed to.</summary>
    public const string Tenant = "demo";

    private static readonly string[] Prompts =
    [
        "Summarise last month's GPU bill", "Which model spent the most?", "Write a haiku about idle time",
        "Explain cost per token to a new engineer", "Draft a budget alert for the team", "List three ways to cut inference cost",
    ];

    /// <summary>Sends <paramref name="requestsPerSecond"/> requests a second for <paramref name="duration"/>; returns how many were answered and how many failed.</summary>
    public async Task<(int Answered, int Failed)> RunAsync(double requestsPerSecond, TimeSpan duration, CancellationToken cancellationToken)
    {
        var models = (await client.GetFromJsonAsync<JsonElement>("v1/models", cancellationToken)).GetProperty("data").EnumerateArray()
            .Where(m => m.GetProperty("ready").GetBoolean() && IsDemo(m.GetProperty("id").GetString()!, m.GetProperty("backend").GetString()))
            .Select(m => m.GetProperty("id").GetString()!).ToArray();
        if (models.Length == 0)
        {
            throw new InvalidOperationException("The server serves no demo model (demo-small, demo-medium, demo-large on the Onnx backend) that is ready; demo traffic goes nowhere else.");
        }

        var random = new Random(7);
        var (answered, failed) = (0, 0);
        var running = new List<Task>();
        var interval = TimeSpan.FromSeconds(1 / requestsPerSecond);
        var clock = time ?? TimeProvider.System;
        var started = clock.GetTimestamp();
        for (var i = 0; clock.GetElapsedTime(started) < duration && !cancellationToken.IsCancellationRequested; i++)
        {
            var (model, prompt, tokens, chat) = (models[i % models.Length], Prompts[random.Next(Prompts.Length)], random.Next(8, 49), i % 4 == 3);
            running.Add(Task.Run(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, chat ? "v1/chat/completions" : $"v1/generate/{model}")
                {
                    Content = chat
                        ? JsonContent.Create(new { model, messages = new[] { new { role = "user", content = prompt } }, max_tokens = tokens, user = $"user-{tokens % 5}" })
                        : JsonContent.Create(new { prompt, max_tokens = tokens, user = $"user-{tokens % 5}" }),
                };
                request.Headers.Add("X-Tenant", Tenant);
                try
                {
                    using var response = await client.SendAsync(request, cancellationToken);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref answered);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }
            }, CancellationToken.None));
            running.RemoveAll(t => t.IsCompleted);
            var next = (i + 1) * interval - clock.GetElapsedTime(started);
            if (next > TimeSpan.Zero)
            {
                await Task.Delay(next, clock, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        await Task.WhenAll(running);
        return (answered, failed);
    }

    /// <summary>Whether a served model is one of the demo models this server writes and runs itself.</summary>
    public static bool IsDemo(string model, string? backend) =>
        ModelMeter.Onnx.Building.DemoModels.IsDemo(model) && string.Equals(backend, "Onnx", StringComparison.OrdinalIgnoreCase);
}
