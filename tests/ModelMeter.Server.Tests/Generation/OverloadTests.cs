using System.Net;
using ModelMeter.Metering;
using ModelMeter.AspNetCore.Catalog;

namespace ModelMeter.Server.Tests.Generation;

public sealed class OverloadTests
{
    [Fact]
    public async Task Generate_QueueFull_Returns503WithRetryAfter()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Models:demo-large:MaxQueue"] = "0";
        settings["ModelMeter:Models:demo-large:MaxBatch"] = "1"; // one slot
        await using var server = await RunningServer.StartAsync(settings);

        using var cancel = new CancellationTokenSource();
        var first = server.GenerateAsync("demo-large", new { prompt = "occupy the only slot", max_tokens = 512 }, cancel.Token);
        await WaitUntilInFlightAsync(server);

        using var second = await server.GenerateAsync("demo-large", new { prompt = "no room", max_tokens = 5 });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(second.Headers.RetryAfter);
        var samples = await server.ScrapeAsync();
        Assert.Equal(1, samples[$"model_request_errors_total{{model_name=\"demo-large\",endpoint=\"generate\",reason=\"{ErrorReason.Overloaded}\"}}"]);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    private static async Task WaitUntilInFlightAsync(RunningServer server)
    {
        for (var i = 0; i < 300; i++)
        {
            if ((await server.ScrapeAsync()).GetValueOrDefault("model_inflight_requests{model_name=\"demo-large\"}") == 1)
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("The first request never started.");
    }

    [Fact]
    public async Task Readyz_ModelFailsToLoad_Returns503AndModelAnswers503()
    {
        var broken = Directory.CreateTempSubdirectory("modelmeter-broken-").FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, "model.onnx"), "this is not an ONNX model");
        var settings = new Dictionary<string, string?>
        {
            ["ModelMeter:Devices:cpu:HourlyUsd"] = "1",
            ["ModelMeter:Models:broken:Path"] = broken,
            ["ModelMeter:Models:broken:Device"] = "cpu",
        };
        await using var server = await RunningServer.StartAsync(settings, waitUntilReady: false);
        var loader = server.Services.GetServices<IHostedService>().OfType<ModelLoader>().Single();
        await loader.ExecuteTask!;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
        using var response = await server.GenerateAsync("broken", new { prompt = "hi", max_tokens = 5 });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Directory.Delete(broken, recursive: true);
    }
}
