using System.Net.Http.Json;
using ModelMeter.Metering;

namespace ModelMeter.Server.Tests.Ledger;

/// <summary>The Latency method charges overlapping requests the same second several times; a restart must not turn that overcharge into bill.</summary>
public sealed class LatencyModeRestartTests
{
    [Fact]
    public async Task Restart_LatencyMethodAfterConcurrentTraffic_DeviceBillContinuesWithoutInflating()
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-latency-").FullName;
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600); // 1 USD per device-second
        settings["ModelMeter:Allocation:Method"] = "Latency";
        settings["ModelMeter:Models:demo-medium:MaxConcurrency"] = "16";
        double billBefore;
        await using (var first = await RunningServer.StartAsync(settings, contentRoot: contentRoot))
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
                (await first.Client.PostAsJsonAsync("/v1/generate/demo-medium", new { prompt = $"overlap {i}", max_tokens = 32 })).EnsureSuccessStatusCode()));
            var meter = first.Services.GetRequiredService<CostMeter>();
            await first.StopAsync();
            billBefore = meter.Devices.Single().Snapshot().BillUsd;
        }

        var requestsAndIdle = LedgerFile.RequestCostUsd(Path.Combine(contentRoot, "data", "ledger.db")) + LedgerFile.IdleCostUsd(Path.Combine(contentRoot, "data", "ledger.db"));
        // Overlapping requests are charged the same seconds: requests + idle is over the bill (by how much depends on how long
        // start-up idled on this machine, so only a clear excess of one device-second is required).
        Assert.True(requestsAndIdle > billBefore + 1, $"the traffic should overlap: requests + idle {requestsAndIdle} vs bill {billBefore}");

        // However long the second server takes to start, its bill can grow by no more than the seconds measured around it.
        double billAfter;
        var sinceStop = System.Diagnostics.Stopwatch.StartNew();
        await using (var second = await RunningServer.StartAsync(settings, contentRoot: contentRoot))
        {
            billAfter = (await second.ScrapeAsync())["device_cost_dollars_total{device=\"cpu\"}"];
        }

        var measuredSeconds = sinceStop.Elapsed.TotalSeconds;

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(contentRoot, recursive: true);
        Assert.True(billAfter >= billBefore - 1e-9, $"the bill continues: {billAfter} after, {billBefore} before");
        // Inflated, the bill would start from requests + idle (over the bill, checked above); continued, it is the old
        // bill plus at most the seconds the second server lived (1 USD each), measured from outside it.
        Assert.True(billAfter <= billBefore + measuredSeconds + 1e-6,
            $"the overcharge became bill: {billAfter} after, {billBefore} before + {measuredSeconds:0.###} s measured, requests + idle {requestsAndIdle}");
    }
}
