using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Catalog;

/// <summary>A model whose files cannot be loaded: the others serve, and it says it failed rather than "still loading".</summary>
public sealed class ModelLoadFailureTests
{
    [Fact]
    public async Task ModelThatCannotBeLoaded_Answers503WithoutRetryAfter_ReadinessNamesIt_TheOthersServe()
    {
        var broken = Directory.CreateTempSubdirectory("modelmeter-broken-").FullName;
        await File.WriteAllTextAsync(Path.Combine(broken, "model.onnx"), "not a model");
        var settings = RunningServer.DemoSettings(3600, "demo-small");
        settings["ModelMeter:Models:mine:Path"] = broken;
        settings["ModelMeter:Models:mine:Device"] = "cpu";
        try
        {
            await using var server = await RunningServer.StartAsync(settings, waitUntilReady: false);
            var readiness = await Eventually.ValueAsync(
                async () => await (await server.Client.GetAsync("/readyz")).Content.ReadAsStringAsync(),
                text => text.Contains("Could not load", StringComparison.Ordinal), "the failed load to be known", seconds: 120);

            Assert.Contains("Could not load mine (see the log); fix it and restart.", readiness);
            using var generate = await server.GenerateAsync("mine", new { prompt = "x", max_tokens = 2 });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, generate.StatusCode);
            Assert.False(generate.Headers.Contains("Retry-After")); // retrying would never help
            var problem = await generate.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("could not be loaded when the server started", problem.GetProperty("detail").GetString());
            Assert.DoesNotContain(broken, problem.GetProperty("detail").GetString()); // the server's paths stay in its log

            using var chat = await server.Client.PostAsJsonAsync("/v1/chat/completions", new { model = "mine", messages = new[] { new { role = "user", content = "x" } } });
            Assert.Equal("model_load_failed", (await chat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("code").GetString());

            var entry = await server.Client.GetFromJsonAsync<JsonElement>("/v1/models/mine");
            Assert.Equal((false, true), (entry.GetProperty("ready").GetBoolean(), entry.GetProperty("load_failed").GetBoolean()));
            await Eventually.TrueAsync(() => server.Services.GetRequiredService<ModelMeter.AspNetCore.Catalog.ModelCatalog>().TryGet("demo-small", out _), "demo-small to load", seconds: 120);
            using var other = await server.GenerateAsync("demo-small", new { prompt = "x", max_tokens = 2 });
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            var loaded = await server.Client.GetFromJsonAsync<JsonElement>("/v1/models/demo-small");
            Assert.False(loaded.TryGetProperty("load_failed", out _)); // only a failed model says so
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }
}
