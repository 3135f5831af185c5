using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ModelMeter.Metering;
using ModelMeter.Server.Tests.Ledger;
using OpenAI;
using OpenAI.Chat;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>Two real ModelMeter servers chained on loopback: a front (<c>Backend: OpenAI</c>) forwarding to a back serving the demo models.</summary>
[Collection(GatewayChainCollection.Name)]
public sealed class GatewayChainTests(GatewayChain chain)
{
    [Fact]
    public async Task Chain_StreamedAndNot_FrontTokenCountsEqualTheBacksAndTheAnswers()
    {
        await using var front = await RunningServer.StartAsync(new GatewaySettings().OnDevice("chain-small", chain.BackUrl, "demo-small").Settings);
        var backBefore = await BackTokensAsync("demo-small");
        var sdk = Chat(front, "chain-small");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 9, Temperature = 0 };
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Grüße, 日本 🚀: who ate the budget?")];

        ChatCompletion whole = await sdk.CompleteChatAsync(messages, options);
        var streamed = new StringBuilder();
        ChatTokenUsage? streamedUsage = null;
        await foreach (var update in sdk.CompleteChatStreamingAsync(messages, options))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            streamedUsage ??= update.Usage;
        }

        using var completion = await front.Client.PostAsJsonAsync("/v1/completions", new { model = "chain-small", prompt = "The bill arrived", max_tokens = 6, temperature = 0 });
        var completionUsage = (await completion.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("usage");
        using var generate = await front.GenerateAsync("chain-small", new { prompt = "Nobody knew", max_tokens = 5 });
        var generated = await generate.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(whole.Content[0].Text, streamed.ToString()); // greedy: same text streamed or not
        Assert.Equal((whole.Usage.InputTokenCount, whole.Usage.OutputTokenCount), (streamedUsage!.InputTokenCount, streamedUsage.OutputTokenCount));
        Assert.Equal(9, whole.Usage.OutputTokenCount);
        var frontRows = LedgerFile.Rows(front.LedgerPath, "SELECT input_tokens, output_tokens, usage_estimated FROM requests WHERE status = 'ok'", r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)));
        Assert.Equal(4, frontRows.Count);
        Assert.All(frontRows, r => Assert.Equal(0, r.Item3)); // the back reports usage, so nothing is estimated
        var answered = (In: (long)whole.Usage.InputTokenCount + streamedUsage.InputTokenCount + completionUsage.GetProperty("prompt_tokens").GetInt64() + generated.GetProperty("input_tokens").GetInt64(),
            Out: (long)whole.Usage.OutputTokenCount + streamedUsage.OutputTokenCount + completionUsage.GetProperty("completion_tokens").GetInt64() + generated.GetProperty("output_tokens").GetInt64());
        Assert.Equal(answered, (frontRows.Sum(r => r.Item1), frontRows.Sum(r => r.Item2)));
        var backAfter = await BackTokensAsync("demo-small");
        Assert.Equal(answered, (backAfter.In - backBefore.In, backAfter.Out - backBefore.Out));
    }

    [Fact]
    public async Task Chain_PricedModel_CostIsTokensTimesPrice()
    {
        await using var front = await RunningServer.StartAsync(new GatewaySettings().Priced("chain-priced", chain.BackUrl, 150, 600, "demo-medium").Settings);

        ChatCompletion whole = await Chat(front, "chain-priced").CompleteChatAsync([new UserChatMessage("price me")], new ChatCompletionOptions { MaxOutputTokenCount = 7, Temperature = 0 });
        using var streamed = await front.Client.PostAsJsonAsync("/v1/completions", new { model = "chain-priced", prompt = "and me", max_tokens = 4, stream = true });
        await streamed.Content.ReadAsStringAsync();

        var rows = LedgerFile.Rows(front.LedgerPath, "SELECT input_tokens, output_tokens, cost_usd, device FROM requests", r => (In: r.GetInt32(0), Out: r.GetInt32(1), Cost: r.GetDouble(2), Device: r.GetString(3)));
        Assert.Equal(2, rows.Count);
        Assert.Contains(rows, r => r.In == whole.Usage.InputTokenCount && r.Out == 7);
        Assert.All(rows, r => Assert.Equal((r.In * 150.0 + r.Out * 600.0) / 1e6, r.Cost, 15));
        Assert.All(rows, r => Assert.Equal("", r.Device));
        var metrics = await front.ScrapeAsync();
        Assert.Equal(rows.Sum(r => r.Cost), metrics["model_estimated_cost_dollars_total{model_name=\"chain-priced\"}"], 12);
    }

    [Fact]
    public async Task Chain_DeviceModelUnderConcurrency_FrontCostsPlusIdleEqualTheFrontBill()
    {
        await using var clock = new RunningClock();
        var time = clock.Time;
        var settings = new GatewaySettings().OnDevice("chain-small", chain.BackUrl, "demo-small").OnDevice("chain-medium", chain.BackUrl, "demo-medium").Settings;
        var front = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(time));
        try
        {
            var requests = Enumerable.Range(0, 12).Select(async i =>
            {
                var model = i % 2 == 0 ? "chain-small" : "chain-medium";
                using var response = await front.Client.PostAsJsonAsync("/v1/completions", new { model, prompt = $"request {i}", max_tokens = 6, stream = i % 3 == 0 });
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsStringAsync();
            });
            await Task.WhenAll(requests);
            var meter = front.Services.GetRequiredService<CostMeter>();

            await clock.StopAsync();
            await front.StopAsync();

            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(front.LedgerPath) + LedgerFile.IdleCostUsd(front.LedgerPath);
            Assert.Equal(12, LedgerFile.RequestIds(front.LedgerPath).Count);
            Assert.True(LedgerFile.RequestCostUsd(front.LedgerPath) > 0);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await front.DisposeAsync();
        }
    }

    [Fact]
    public async Task Chain_UpstreamRefuses_SdkRaisesWithTheUpstreamsStatusAndMessage()
    {
        await using var front = await RunningServer.StartAsync(new GatewaySettings().OnDevice("chain-missing", chain.BackUrl, "no-such-model").Settings);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(front, "chain-missing").CompleteChatAsync([new UserChatMessage("hello?")]));

        Assert.Equal(404, error.Status);
        Assert.Contains("No model named 'no-such-model'", error.Message);
    }

    [Fact]
    public async Task Chain_LocalModelErrors_SdkRaisesWithOurMessage()
    {
        await using var front = await RunningServer.StartAsync(new GatewaySettings().OnDevice("chain-small", chain.BackUrl, "demo-small").Settings);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Chat(front, "chain-small").CompleteChatAsync(
            [new UserChatMessage("hello?")], new ChatCompletionOptions { MaxOutputTokenCount = 100_000 }));

        Assert.Equal(400, error.Status);
        Assert.Contains("max_completion_tokens is 100000; it must be between 1 and 512", error.Message);
    }

    private static ChatClient Chat(RunningServer server, string model) =>
        new(model, new ApiKeyCredential("not-needed"), new OpenAIClientOptions { Endpoint = new Uri(server.Client.BaseAddress!, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    private async Task<(long In, long Out)> BackTokensAsync(string model)
    {
        var summary = await chain.Back.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model&from=2000-01-01T00:00:00Z");
        var row = summary.GetProperty("rows").EnumerateArray().FirstOrDefault(r => r.GetProperty("key").GetString() == model);
        return row.ValueKind == JsonValueKind.Undefined ? (0, 0) : (row.GetProperty("input_tokens").GetInt64(), row.GetProperty("output_tokens").GetInt64());
    }
}
