using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Hosting;

[Collection(DemoServerCollection.Name)]
public sealed class InfoEndpointTests(DemoServer demo)
{
    [Fact]
    public async Task Models_ListsTheThreeDemoModelsReady()
    {
        var list = await demo.Server.Client.GetFromJsonAsync<JsonElement>("/v1/models");

        var ids = list.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).Order().ToArray();
        Assert.Equal(["demo-large", "demo-medium", "demo-small"], ids);
        Assert.All(list.GetProperty("data").EnumerateArray(), m => Assert.True(m.GetProperty("ready").GetBoolean()));
    }

    [Fact]
    public async Task Health_AndReadiness_Return200()
    {
        Assert.Equal(HttpStatusCode.OK, (await demo.Server.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await demo.Server.Client.GetAsync("/readyz")).StatusCode);
    }

    [Fact]
    public async Task Metrics_DemoServer_HasTheClassicSeries()
    {
        var text = await demo.Server.Client.GetStringAsync("/metrics");

        Assert.Contains("# TYPE model_request_duration_seconds histogram", text);
        Assert.Contains("model_request_duration_seconds_bucket{model_name=\"demo-small\",le=\"0.05\"}", text);
        Assert.Contains("model_request_duration_seconds_bucket{model_name=\"demo-small\",le=\"10\"}", text);
        Assert.Contains("# TYPE model_estimated_cost_dollars_total counter", text);
        Assert.Contains("device_cost_dollars_total{device=\"cpu\"}", text);
    }

    [Fact]
    public async Task Metrics_GpuDevice_GpuSeriesExactlyWhenNvmlAnswers()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Devices:gpu0:Kind"] = "Gpu";
        settings["ModelMeter:Devices:gpu0:HourlyUsd"] = "2.5";
        await using var server = await RunningServer.StartAsync(settings, waitUntilReady: false);

        var text = await server.Client.GetStringAsync("/metrics");

        // A GPU is configured, so the series' absence here means NVML did not answer, never that nobody asked.
        var nvml = System.Runtime.InteropServices.NativeLibrary.TryLoad("libnvidia-ml.so.1", out var handle);
        if (nvml)
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
            Assert.Contains("gpu_utilization_percent{device=\"gpu0\"}", text);
        }
        else
        {
            Assert.DoesNotContain("gpu_utilization_percent", text);
        }

        Assert.Contains("device_cost_dollars_total{device=\"gpu0\"}", text);
    }
}
