using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Generation;

/// <summary>A stop string ends a batched request: its row leaves the batch at once, and what it computed is its own.</summary>
public sealed class StopStringTests
{
    [Fact]
    public async Task StopStringMatchesEarly_OnABatchedModel_RowLeavesTheBatchAndNothingDecodesForNoOne()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings()); // demo-medium batched (MaxBatch 8)
        using var free = await server.Client.PostAsJsonAsync("/v1/completions", new { model = "demo-medium", prompt = "Who ate the budget?", max_tokens = 8, temperature = 0 });
        var text = (await free.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString()!;
        Assert.False(string.IsNullOrEmpty(text), "greedy decoding gave no text to take a stop string from");
        var stop = text[..Math.Min(3, text.Length)];
        var before = await server.ScrapeAsync();

        using var stopped = await server.Client.PostAsJsonAsync("/v1/completions",
            new { model = "demo-medium", prompt = "Who ate the budget?", max_tokens = 512, temperature = 0, stop });
        var answer = await stopped.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var tokens = answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32();

        await Eventually.TrueAsync(async () => (await server.ScrapeAsync())["model_batch_rows{model_name=\"demo-medium\"}"] == 0, "the batch to be empty");
        var after = await server.ScrapeAsync();
        const string steps = "model_batch_size_count{model_name=\"demo-medium\"}";
        Assert.Equal("stop", answer.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.InRange(tokens, 1, 8);
        // Steps decoded: one per token after the first (prefilled), plus at most one in flight when the reader stopped.
        Assert.InRange(after[steps] - before[steps], 0, tokens + 1);
        Assert.Equal(0, after["model_batch_rows_without_owner_total{model_name=\"demo-medium\"}"]);
        Assert.Equal(0, after["model_inflight_requests{model_name=\"demo-medium\"}"]);

        var row = LedgerFile.Rows(server.LedgerPath, $"SELECT output_tokens, status FROM requests WHERE request_id = '{stopped.Headers.GetValues("X-Request-Id").Single()}'",
            r => (Tokens: r.GetInt32(0), Status: r.GetString(1))).Single();
        Assert.Equal((tokens, "ok"), row);
    }
}
