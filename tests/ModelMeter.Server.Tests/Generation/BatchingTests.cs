using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Metering;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Generation;

/// <summary>Continuous batching end to end: the same answers as one at a time, and request costs + idle = the bill.</summary>
public sealed class BatchingTests
{
    [Fact]
    public async Task SixteenClientsOnDemoLarge_Batched_SameAnswersAsOneAtATime_AndThirtyTwoMixedRequestsAddUpToTheBill()
    {
        var prompts = Enumerable.Range(0, 16).Select(i => string.Concat(Enumerable.Repeat($"request {i} asks who spent the money. ", 1 + i % 5))).ToArray();

        Dictionary<string, string> alone;
        var oneAtATime = RunningServer.DemoSettings();
        oneAtATime["ModelMeter:Models:demo-large:MaxBatch"] = "1";
        await using (var unbatched = await RunningServer.StartAsync(oneAtATime))
        {
            alone = await AnswerAllAsync(unbatched, "demo-large", prompts, maxTokens: 32);
        }

        await using var clock = new RunningClock();
        var batched = await RunningServer.StartAsync(RunningServer.DemoSettings(), services: s => s.AddSingleton<TimeProvider>(clock.Time)); // MaxBatch 8, the default
        try
        {
            var mostInFlight = 0.0;
            var answering = AnswerAllAsync(batched, "demo-large", prompts, maxTokens: 32);
            // Sixteen more at the same time, of other lengths (1 to 46 tokens) and prompts, so that 32 requests share the device.
            var others = Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
            {
                using var response = await batched.GenerateAsync("demo-large", new { prompt = new string('x', 1 + 7 * i), max_tokens = 1 + 3 * i });
                response.EnsureSuccessStatusCode();
            }));
            while (!answering.IsCompleted)
            {
                mostInFlight = Math.Max(mostInFlight, (await batched.ScrapeAsync())["model_inflight_requests{model_name=\"demo-large\"}"]);
            }

            var together = await answering;
            await others;
            var steps = await batched.ScrapeAsync();
            var meter = batched.Services.GetRequiredService<CostMeter>();
            await clock.StopAsync();
            await batched.StopAsync();

            Assert.Equal(alone, together); // greedy: token for token the same, whatever ran beside it
            Assert.True(mostInFlight > 1, $"at most {mostInFlight} request(s) were computing at once");
            var rowsPerStep = steps["model_batch_size_sum{model_name=\"demo-large\"}"] / steps["model_batch_size_count{model_name=\"demo-large\"}"];
            Assert.True(rowsPerStep > 2, $"{rowsPerStep} rows per step on average: the requests were not decoded together");
            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(batched.LedgerPath) + LedgerFile.IdleCostUsd(batched.LedgerPath);
            Assert.Equal(32, LedgerFile.RequestIds(batched.LedgerPath).Count);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await batched.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClientsLeavingABatch_TheirRowsStopAtTheNextStepAndAreChargedTheStepsTheyWereIn()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Models:demo-large:MaxBatch"] = "4";
        await using var server = await RunningServer.StartAsync(settings);
        using var cancel = new CancellationTokenSource();
        var long1 = server.GenerateAsync("demo-large", new { prompt = "a long answer", max_tokens = 512 }, cancel.Token);
        var long2 = server.GenerateAsync("demo-large", new { prompt = "another long answer", max_tokens = 512 }, cancel.Token);
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["model_inflight_requests{model_name=\"demo-large\"}"] == 2, "two rows in the batch");

        // A third row streams, and its client leaves after the first chunk while the other two keep going.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { model = "demo-large", prompt = "stream and leave", max_tokens = 512, temperature = 0, stream = true }),
        })
        using (var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: {", await reader.ReadLineAsync());
        }

        const string closed = "model_request_errors_total{model_name=\"demo-large\",endpoint=\"completions\",reason=\"client_closed\"}";
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())[closed] == 1, "the leaving stream to be stopped and charged");
        Assert.Equal(2, (await server.ScrapeAsync())["model_inflight_requests{model_name=\"demo-large\"}"]); // the others still run

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => long1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => long2);
        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["model_inflight_requests{model_name=\"demo-large\"}"] == 0, "every row to leave");
        // A request leaves the device before its ledger row commits: wait for the rows, not only for the device.
        List<(string Status, double Cost)> charged = [];
        await Eventually.TrueAsync(() =>
        {
            charged = LedgerFile.Rows(server.LedgerPath, "SELECT status, cost_usd FROM requests", r => (Status: r.GetString(0), Cost: r.GetDouble(1)));
            return charged.Count(r => r.Status == "client_closed") == 3;
        }, "the three rows of the clients that left");
        Assert.All(charged, r => Assert.True(r.Cost > 0));
    }

    [Fact]
    public async Task MaxBatchTokens_RequestsBeyondItWaitUncharged_AndAllAreAnswered()
    {
        var settings = RunningServer.DemoSettings();
        // Each request may hold its prompt (7 tokens) plus 24: 80 tokens of cache leave room for two rows, not three.
        settings["ModelMeter:Models:demo-medium:MaxBatch"] = "8";
        settings["ModelMeter:Models:demo-medium:MaxBatchTokens"] = "80";
        await using var server = await RunningServer.StartAsync(settings);
        var prompts = Enumerable.Range(0, 6).Select(i => $"request {i} asks who spent the money").ToArray();

        var mostInFlight = 0.0;
        var answering = AnswerAllAsync(server, "demo-medium", prompts, maxTokens: 24);
        while (!answering.IsCompleted)
        {
            mostInFlight = Math.Max(mostInFlight, (await server.ScrapeAsync())["model_inflight_requests{model_name=\"demo-medium\"}"]);
        }

        Assert.Equal(6, (await answering).Count);
        var metrics = await server.ScrapeAsync();
        Assert.InRange(mostInFlight, 0, 2);
        Assert.Equal(metrics["model_batch_size_count{model_name=\"demo-medium\"}"], metrics["model_batch_size_bucket{model_name=\"demo-medium\",le=\"2\"}"]);
        Assert.Equal(6, metrics["model_queue_wait_seconds_count{model_name=\"demo-medium\"}"]);
    }

    private static async Task<Dictionary<string, string>> AnswerAllAsync(RunningServer server, string model, string[] prompts, int maxTokens)
    {
        var answers = await Task.WhenAll(prompts.Select(async prompt =>
        {
            using var response = await server.GenerateAsync(model, new { prompt, max_tokens = maxTokens });
            response.EnsureSuccessStatusCode();
            return (prompt, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("text").GetString()!);
        }));
        return answers.ToDictionary(a => a.Item1, a => a.Item2);
    }
}
