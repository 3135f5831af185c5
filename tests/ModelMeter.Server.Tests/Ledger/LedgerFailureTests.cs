using System.Net;
using System.Net.Http.Json;
using Microsoft.Data.Sqlite;
using ModelMeter.Ledger;

namespace ModelMeter.Server.Tests.Ledger;

/// <summary>The ledger file is locked by another writer (as a long admin transaction would): Strict refuses, Relaxed serves.</summary>
public sealed class LedgerFailureTests
{
    [Fact]
    public async Task Strict_LedgerLocked_Answers503UntilItCanWriteAgain()
    {
        await using var clock = new RunningClock();
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        using (var warm = await server.GenerateAsync("demo-small", new { prompt = "before", max_tokens = 2 }))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        using (var blocker = Lock(server.LedgerPath))
        {
            using var refused = await server.GenerateAsync("demo-small", new { prompt = "while locked", max_tokens = 2 });
            using var next = await server.GenerateAsync("demo-small", new { prompt = "still locked", max_tokens = 2 });

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, next.StatusCode);
            Assert.NotNull(next.Headers.RetryAfter);
            Assert.Contains("ledger", await next.Content.ReadAsStringAsync());
            using var readiness = await server.Client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        }

        clock.Time.Advance(LedgerWriter.RetryAfterFailure); // the probe's wait, on the server's clock
        using var recovered = await server.GenerateAsync("demo-small", new { prompt = "after", max_tokens = 2 });

        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
        var samples = await server.ScrapeAsync();
        Assert.True(samples["model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"ledger_unavailable\"}"] >= 1);
    }

    [Fact]
    public async Task Strict_CommitFails_NotServedNotCountedOneProbeAtATime_RowsLandLaterAndAddUpToTheBill()
    {
        await using var clock = new RunningClock();
        var server = await RunningServer.StartAsync(RunningServer.DemoSettings(), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            (await server.GenerateAsync("demo-small", new { prompt = "before", max_tokens = 2 })).EnsureSuccessStatusCode();
            using (Lock(server.LedgerPath))
            {
                using var failed = await server.GenerateAsync("demo-small", new { prompt = "its commit fails", max_tokens = 2 });
                Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);

                // After the retry interval, of four requests at once only one (the probe) may run; the rest are refused before a slot.
                clock.Time.Advance(LedgerWriter.RetryAfterFailure);
                var burst = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => server.GenerateAsync("demo-small", new { prompt = $"burst {i}", max_tokens = 2 })));
                Assert.All(burst, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/readyz")).StatusCode);
            }

            var samples = await server.ScrapeAsync();
            Assert.Equal(1, samples["model_request_total{model_name=\"demo-small\",endpoint=\"generate\"}"]); // only the answer delivered
            Assert.Equal(5, samples["model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"ledger_unavailable\"}"]); // each refused or unbilled request once

            HttpStatusCode status;
            var deadline = DateTime.UtcNow.AddSeconds(30);
            do
            {
                using var retry = await server.GenerateAsync("demo-small", new { prompt = "after", max_tokens = 2 });
                status = retry.StatusCode;
                Assert.True(DateTime.UtcNow < deadline, "The ledger did not recover within 30 s.");
                await Task.Delay(200);
            }
            while (status != HttpStatusCode.OK);

            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
            var meter = server.Services.GetRequiredService<ModelMeter.Metering.CostMeter>();
            await clock.StopAsync();
            await server.StopAsync();

            var statuses = LedgerFile.Rows(server.LedgerPath, "SELECT status, cost_usd FROM requests", r => (Status: r.GetString(0), Cost: r.GetDouble(1)));
            // The first failure and the probe ran and are billed now, as failed; everything else was refused before a slot.
            Assert.Equal(2, statuses.Count(r => r.Status == "ledger_unavailable"));
            Assert.True(statuses.Count(r => r.Status == "ok") >= 2, string.Join(", ", statuses));
            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Strict_StreamWhileTheLedgerCannotWrite_503BeforeAnyTokenReachesTheClient()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());
        (await server.GenerateAsync("demo-small", new { prompt = "before", max_tokens = 2 })).EnsureSuccessStatusCode();

        using (Lock(server.LedgerPath))
        {
            using var stream = await server.Client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "demo-small", messages = new[] { new { role = "user", content = "stream me" } }, max_tokens = 8, stream = true,
            });

            Assert.Equal(HttpStatusCode.ServiceUnavailable, stream.StatusCode);
            Assert.Equal("application/json", stream.Content.Headers.ContentType?.MediaType); // an error body, not an event stream
            Assert.Equal("ledger_unavailable", (await stream.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Strict_LockedUnderStreamedAndPlainLoad_EveryAnswerHasItsRowAndRowsPlusIdleEqualTheBill()
    {
        await using var clock = new RunningClock();
        var server = await RunningServer.StartAsync(RunningServer.DemoSettings(), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
            using var load = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !load.IsCancellationRequested; i++)
                {
                    if (await AnswerAsync(server, stream: (worker + i) % 2 == 0, $"load {worker}.{i}") is { } id)
                    {
                        answered.Add(id);
                    }
                }
            })).ToArray();

            await Eventually.TrueAsync(() => answered.Count >= 10, "traffic before the lock", 60);
            using (Lock(server.LedgerPath))
            {
                // Commits fail (after SQLite's 5 s busy wait), then the probe's wait passes on the server's clock and more fail.
                var failures = await Eventually.ValueAsync(async () => Unavailable(await server.ScrapeAsync()), n => n >= 1, "a commit to fail on the lock", 60);
                clock.Time.Advance(LedgerWriter.RetryAfterFailure);
                await Eventually.ValueAsync(async () => Unavailable(await server.ScrapeAsync()), n => n > failures, "refusals or a probe after the wait", 60);
            }

            var atUnlock = answered.Count;
            await Eventually.TrueAsync(() => answered.Count >= atUnlock + 10, "traffic after the lock", 60);
            await load.CancelAsync();
            await Task.WhenAll(workers);
            var samples = await server.ScrapeAsync();
            var meter = server.Services.GetRequiredService<ModelMeter.Metering.CostMeter>();
            await clock.StopAsync();
            await server.StopAsync();

            var rows = LedgerFile.Rows(server.LedgerPath, "SELECT request_id, status FROM requests", r => (Id: r.GetString(0), Status: r.GetString(1)));
            var ok = rows.Where(r => r.Status == "ok").Select(r => r.Id).ToHashSet();
            Assert.DoesNotContain(answered, id => !ok.Contains(id)); // no answer delivered without its row
            Assert.DoesNotContain(rows, r => r.Status == "provisional");
            Assert.Equal(ok.Count, samples["model_request_total{model_name=\"demo-small\",endpoint=\"completions\"}"] + samples["model_request_total{model_name=\"demo-small\",endpoint=\"generate\"}"]);
            Assert.True(samples["model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"ledger_unavailable\"}"]
                + samples["model_request_errors_total{model_name=\"demo-small\",endpoint=\"completions\",reason=\"ledger_unavailable\"}"] >= 1);
            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>The request id of a complete answer (a 200, and for a stream its [DONE]), or null.</summary>
    private static async Task<string?> AnswerAsync(RunningServer server, bool stream, string prompt)
    {
        try
        {
            if (!stream)
            {
                using var plain = await server.GenerateAsync("demo-small", new { prompt, max_tokens = 2 });
                return plain.StatusCode == HttpStatusCode.OK ? (await plain.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("request_id").GetString() : null;
            }

            using var streamed = await server.Client.PostAsJsonAsync("/v1/completions", new { model = "demo-small", prompt, max_tokens = 4, stream = true });
            var text = await streamed.Content.ReadAsStringAsync();
            return streamed.StatusCode == HttpStatusCode.OK && text.Contains("data: [DONE]", StringComparison.Ordinal) && !text.Contains("\"error\"", StringComparison.Ordinal)
                ? streamed.Headers.GetValues("X-Request-Id").Single()
                : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Relaxed_LedgerLocked_KeepsServingAndWritesTheRowsLater()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Ledger:Durability"] = "Relaxed";
        settings["ModelMeter:Ledger:FlushIntervalMs"] = "200";
        await using var server = await RunningServer.StartAsync(settings);

        using (var blocker = Lock(server.LedgerPath))
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await server.GenerateAsync("demo-small", new { prompt = $"locked {i}", max_tokens = 2 });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            var writer = server.Services.GetRequiredService<ModelMeter.Ledger.ILedgerRecorder>();
            await Eventually.TrueAsync(() => !writer.IsHealthy, "a write attempt to fail on the lock", 60);
        }

        for (var i = 0; i < 100 && LedgerFile.RequestIds(server.LedgerPath).Count < 3; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(3, LedgerFile.RequestIds(server.LedgerPath).Count);
    }

    private static double Unavailable(IReadOnlyDictionary<string, double> samples) =>
        samples.Where(s => s.Key.StartsWith("model_request_errors_total{", StringComparison.Ordinal) && s.Key.Contains("reason=\"ledger_unavailable\"", StringComparison.Ordinal)).Sum(s => s.Value);

    /// <summary>Holds the database's write lock until disposed.</summary>
    private static SqliteConnection Lock(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "BEGIN EXCLUSIVE";
        command.ExecuteNonQuery();
        return connection;
    }
}
