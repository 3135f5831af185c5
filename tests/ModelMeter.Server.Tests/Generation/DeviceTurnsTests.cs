using ModelMeter.Metering;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Generation;

/// <summary>ONNX models on one device take turns (and say how long they waited); on devices of their own they do not.</summary>
public sealed class DeviceTurnsTests
{
    private const string SmallWait = "model_device_turn_wait_seconds_total{model_name=\"demo-small\"}";
    private const string MediumWait = "model_device_turn_wait_seconds_total{model_name=\"demo-medium\"}";

    [Theory]
    [InlineData(16)]
    [InlineData(1)] // demo-small unbatched: each token's step a turn
    public async Task TwoModelsOnOneDevice_UnderLoad_EachWaitsForTheOthersTurns_AndRequestsPlusIdleAreTheBill(int smallMaxBatch)
    {
        await using var clock = new RunningClock();
        var settings = RunningServer.DemoSettings(models: ["demo-small", "demo-medium"]);
        settings["ModelMeter:Models:demo-small:MaxBatch"] = smallMaxBatch.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            var before = await server.ScrapeAsync();
            Assert.Equal(0, before[SmallWait]); // exported from the start
            Assert.Equal(0, before[MediumWait]);

            var sent = 0;
            await Eventually.TrueAsync(async () =>
            {
                await Task.WhenAll(new[] { "demo-small", "demo-medium", "demo-small", "demo-medium" }.Select(async model =>
                {
                    using var response = await server.GenerateAsync(model, new { prompt = "who waits for whom on the device?", max_tokens = 40 });
                    response.EnsureSuccessStatusCode();
                }));
                sent += 4;
                var waits = await server.ScrapeAsync();
                return waits[SmallWait] > 0 && waits[MediumWait] > 0;
            }, "both models' turns waited for the other's");

            var meter = server.Services.GetRequiredService<CostMeter>();
            await clock.StopAsync();
            await server.StopAsync();
            var bill = meter.Devices.Single().Snapshot().BillUsd;
            var recorded = LedgerFile.RequestCostUsd(server.LedgerPath) + LedgerFile.IdleCostUsd(server.LedgerPath);
            Assert.Equal(sent, LedgerFile.RequestIds(server.LedgerPath).Count);
            Assert.InRange(Math.Abs(recorded - bill) / bill, 0, 1e-9);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task BatchedModelsOnDevicesOfTheirOwn_RunAtOnce_AndNeverWaitForEachOther()
    {
        var settings = RunningServer.DemoSettings(models: ["demo-small", "demo-medium"]);
        settings["ModelMeter:Devices:cpu2:HourlyUsd"] = "3600";
        settings["ModelMeter:Models:demo-medium:Device"] = "cpu2";
        await using var server = await RunningServer.StartAsync(settings);
        await Eventually.TrueAsync(async () =>
        {
            // A round of requests to both models; it counts when a scrape saw both computing at once.
            var all = Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => new[] { "demo-small", "demo-medium" }).Select(async model =>
            {
                using var response = await server.GenerateAsync(model, new { prompt = "nobody waits on a device of its own", max_tokens = 40 });
                response.EnsureSuccessStatusCode();
            }));
            var together = false;
            while (!all.IsCompleted)
            {
                var now = await server.ScrapeAsync();
                together |= now["model_inflight_requests{model_name=\"demo-small\"}"] > 0 && now["model_inflight_requests{model_name=\"demo-medium\"}"] > 0;
            }

            await all;
            return together;
        }, "both models computing at once");
        var after = await server.ScrapeAsync();

        Assert.Equal(0, after[SmallWait]);
        Assert.Equal(0, after[MediumWait]);
    }
}
