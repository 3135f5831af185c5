using System.Net.Http.Json;
using ModelMeter.Metering;

namespace ModelMeter.Server.Tests.Ledger;

/// <summary>Clients that leave streams at random points: every stream is billed once, as served or as client_closed, and rows + idle = bill.</summary>
public sealed class StreamDisconnectTests
{
    [Fact]
    public async Task HundredStreams_ClientsLeaveAtRandomPoints_EachBilledOnceAndRowsPlusIdleEqualTheBill()
    {
        await using var clock = new RunningClock();
        var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            var random = new Random(7); // seeded: the same leaving points every run
            // No draining: a client that leaves closes its connection (HttpClient would otherwise read the rest to reuse it).
            using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Client.BaseAddress };
            var completed = 0;
            for (var i = 0; i < 100; i++)
            {
                var leaveAfter = random.Next(0, 80); // lines read before leaving; a whole stream is about 70 lines (a chunk and a blank line per token)
                using var cancel = new CancellationTokenSource();
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
                {
                    Content = JsonContent.Create(new { model = "demo-medium", prompt = $"stream {i}", max_tokens = 32, temperature = 0, stream = true }),
                };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
                var sawDone = false;
                for (var line = 0; line < leaveAfter && await reader.ReadLineAsync(cancel.Token) is { } text; line++)
                {
                    sawDone |= text == "data: [DONE]";
                }

                completed += sawDone ? 1 : 0;
                cancel.Cancel(); // leave here
            }

            var requests = "model_request_total{model_name=\"demo-medium\",endpoint=\"completions\"}";
            var closed = $"model_request_errors_total{{model_name=\"demo-medium\",endpoint=\"completions\",reason=\"{ErrorReason.ClientClosed}\"}}";
            var meter = server.Services.GetRequiredService<CostMeter>();
            await Eventually.TrueAsync(async () => (await server.ScrapeAsync()) is var s && s[requests] + s[closed] == 100, "the metrics to account for all 100 streams", 60);
            var samples = await server.ScrapeAsync();
            await clock.StopAsync();
            await server.StopAsync();

            Assert.InRange(samples[requests], completed, 100); // every client that read [DONE] was served (and a few that left just after the last chunk)
            Assert.True(samples[closed] > 10, $"only {samples[closed]} streams were left early");
            var rows = LedgerFile.Rows(server.LedgerPath, "SELECT status, COUNT(*) FROM requests WHERE endpoint = 'completions' GROUP BY status", r => (r.GetString(0), r.GetInt64(1)))
                .ToDictionary(r => r.Item1, r => r.Item2);
            Assert.Equal(100, rows.Values.Sum());
            Assert.Equal(samples[requests], rows.GetValueOrDefault("ok"));
            Assert.False(rows.ContainsKey("provisional"));
            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
