using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Ledger;

public sealed class CrashTests
{
    [Fact]
    public async Task Sigkill_DuringLoad_StrictLedgerKeepsEveryAnsweredRequest()
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-crash-").FullName;
        var settings = RunningServer.DemoSettings(); // Strict durability is the default
        var answered = new ConcurrentBag<string>();

        await using (var server = await ServerProcess.StartAsync(contentRoot, settings))
        {
            using var load = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    try
                    {
                        using var response = await server.Client.PostAsJsonAsync("/v1/generate/demo-small", new { prompt = $"worker {worker}", max_tokens = 2 });
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            answered.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("request_id").GetString()!);
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or JsonException)
                    {
                        // The server is gone mid-request: that request was never answered.
                    }
                }
            })).ToArray();

            // Killed under load, once enough answers were given that a lost row would show.
            await Eventually.TrueAsync(() => answered.Count > 20, "20 answered requests before the kill", 120);
            server.Kill();
            load.Cancel();
            await Task.WhenAll(workers);
        }

        await using (var restarted = await ServerProcess.StartAsync(contentRoot, settings))
        {
            Assert.Equal(HttpStatusCode.OK, (await restarted.Client.GetAsync("/readyz")).StatusCode);
        }

        var recorded = LedgerFile.RequestIds(Path.Combine(contentRoot, "data", "ledger.db"));
        var lost = answered.Except(recorded).ToArray();
        Assert.True(lost.Length == 0, $"{lost.Length} of {answered.Count} answered requests have no ledger row");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(contentRoot, recursive: true);
    }

    [Fact]
    public async Task Sigkill_DuringStreams_EveryStartedStreamHasItsProvisionalRow()
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-crash-streams-").FullName;
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Models:demo-large:MaxConcurrency"] = "4";
        var started = new List<string>();
        await using (var server = await ServerProcess.StartAsync(contentRoot, settings))
        {
            var responses = new List<HttpResponseMessage>();
            for (var i = 0; i < 4; i++)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
                {
                    Content = JsonContent.Create(new { model = "demo-large", prompt = $"stream {i}", max_tokens = 512, temperature = 0, stream = true }),
                };
                var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                response.EnsureSuccessStatusCode();

                // The headers came with the first chunk: the stream has started, so the client has seen part of an answer.
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                Assert.StartsWith("data: {", await reader.ReadLineAsync());
                started.Add(response.Headers.GetValues("X-Request-Id").Single());
                responses.Add(response);
            }

            server.Kill();
            responses.ForEach(r => r.Dispose());
        }

        // Every stream that reached its client has a row: provisional if it was cut by the kill (a stream that happened to
        // finish first has its final row instead), and the report counts the provisional ones.
        var ledger = Path.Combine(contentRoot, "data", "ledger.db");
        var rows = LedgerFile.Rows(ledger, "SELECT request_id, status FROM requests", r => (Id: r.GetString(0), Status: r.GetString(1))).ToDictionary(r => r.Id, r => r.Status);
        Assert.All(started, id => Assert.Contains(rows.GetValueOrDefault(id), new[] { "provisional", "ok" }));
        var provisional = rows.Count(r => r.Value == "provisional");
        Assert.True(provisional >= 2, $"only {provisional} of 4 streams were still running at the kill");
        await using (var restarted = await ServerProcess.StartAsync(contentRoot, settings))
        {
            var summary = await restarted.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?from=2000-01-01T00:00:00Z");
            var row = summary.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "(provisional)");
            Assert.Equal(provisional, row.GetProperty("requests").GetInt64());
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(contentRoot, recursive: true);
    }
}
