using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Prometheus;

namespace ModelMeter.AspNetCore.Tests.Hosting;

/// <summary>A library user's bad configuration fails at start, every problem at once, each naming its key.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public async Task Start_SeveralMistakes_AllReportedWithTheirKeys()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new()
        {
            ["ModelMeter:Devices:cpu:HourlyUsd"] = "-1",
            ["ModelMeter:Models:ext:Backend"] = "External",
            ["ModelMeter:Models:ext:Device"] = "gpu9",
            ["ModelMeter:Models:both:Backend"] = "External",
            ["ModelMeter:Models:both:Device"] = "cpu",
            ["ModelMeter:Models:both:Price:InputPerMillion"] = "1",
            ["ModelMeter:Models:up:Backend"] = "OpenAI",
            ["ModelMeter:Models:up:Device"] = "cpu",
            ["ModelMeter:Models:up:Retries"] = "99",
            ["ModelMeter:Models:onnx:Backend"] = "Onnx", // not registered in a library-only app
            ["ModelMeter:Models:onnx:Device"] = "cpu",
        }));

        string[] keys =
        [
            "ModelMeter:Devices:cpu:HourlyUsd",
            "ModelMeter:Models:ext:Device",
            "ModelMeter:Models:both:Device",
            "ModelMeter:Models:up:BaseUrl",
            "ModelMeter:Models:up:Retries",
            "ModelMeter:Models:onnx:Backend",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(error.Failures, f => f.StartsWith(key + ":", StringComparison.Ordinal));
        }

        Assert.Contains(error.Failures, f => f.Contains("gpu9", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("registered: ", StringComparison.Ordinal) && f.Contains("OpenAI", StringComparison.Ordinal) && f.Contains("External", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_TheGatewaysOwnKeys_AreCheckedByTheGateway()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new()
        {
            ["ModelMeter:Devices:cpu:HourlyUsd"] = "1",
            ["ModelMeter:Models:up:Backend"] = "OpenAI",
            ["ModelMeter:Models:up:Device"] = "cpu",
            ["ModelMeter:Models:up:BaseUrl"] = "ftp://example.org/v1",
            ["ModelMeter:Models:up:MaxLineBytes"] = "10",
        }));

        Assert.Equal(
            ["ModelMeter:Models:up:BaseUrl", "ModelMeter:Models:up:MaxLineBytes"],
            error.Failures.Select(f => f[..f.IndexOf(": ", StringComparison.Ordinal)]).Order());
    }

    private static async Task StartAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath(), EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddInMemoryCollection([new("Urls", "http://127.0.0.1:0")]);
        builder.Services.AddSingleton(Metrics.NewCustomRegistry());
        builder.Services.AddModelMeter(builder.Configuration);
        await using var app = builder.Build();
        await app.StartAsync();
        await app.StopAsync();
    }
}
