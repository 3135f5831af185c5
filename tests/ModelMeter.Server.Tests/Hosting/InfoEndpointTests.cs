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

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Health_ProbedWithHead_Returns200WithoutABody(string path)
    {
        using var response = await demo.Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Start_WithAWarmUp_ReadyAndAnswersAsAServerWithout()
    {
        var settings = RunningServer.DemoSettings(3600, "demo-small");
        settings["ModelMeter:Models:demo-small:WarmUpTokens"] = "200";
        await using var warm = await RunningServer.StartAsync(settings);
        var body = new { model = "demo-small", prompt = "Which model spent the money?", max_tokens = 12, temperature = 0 };

        Assert.Equal(HttpStatusCode.OK, (await warm.Client.GetAsync("/readyz")).StatusCode);
        var answer = await (await warm.Client.PostAsJsonAsync("/v1/completions", body)).Content.ReadFromJsonAsync<JsonElement>();
        var cold = await (await demo.Server.Client.PostAsJsonAsync("/v1/completions", body)).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(cold.GetProperty("choices")[0].GetProperty("text").GetString(), answer.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal(12, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
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
