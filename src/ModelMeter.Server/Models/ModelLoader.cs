using System.Diagnostics;
using Microsoft.Extensions.Options;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Server.Configuration;

namespace ModelMeter.Server.Models;

/// <summary>Writes missing demo models and loads every configured model in the background, so the server answers health checks at once.</summary>
internal sealed partial class ModelLoader(
    IOptions<ModelMeterOptions> options, ModelRegistry registry, IHostEnvironment environment, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() => LoadAll(stoppingToken), stoppingToken);

    private void LoadAll(CancellationToken stoppingToken)
    {
        var failed = false;
        foreach (var (name, model) in options.Value.Models)
        {
            stoppingToken.ThrowIfCancellationRequested();
            var directory = Path.GetFullPath(model.Path!, environment.ContentRootPath);
            try
            {
                var clock = Stopwatch.StartNew();
                if (DemoModels.IsDemo(name) && DemoModels.EnsureWritten(name, directory))
                {
                    LogDemoWritten(name, directory, clock.Elapsed.TotalSeconds);
                }

                var backend = OnnxCausalLm.Load(directory, model.IntraOpThreads);
                registry.Add(new ServedModel(name, backend, new ModelGate(model.MaxConcurrency, model.MaxQueue)));
                LogLoaded(name, directory, backend.UsesCache, clock.Elapsed.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed = true;
                LogLoadFailed(e, name, directory);
            }
        }

        if (!failed)
        {
            registry.MarkReady();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Wrote demo model {Model} to {Directory} in {Seconds:F1} s (random weights: its text is noise)")]
    private partial void LogDemoWritten(string model, string directory, double seconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Loaded model {Model} from {Directory} (key/value cache: {UsesCache}) in {Seconds:F1} s")]
    private partial void LogLoaded(string model, string directory, bool usesCache, double seconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Could not load model {Model} from {Directory}")]
    private partial void LogLoadFailed(Exception exception, string model, string directory);
}
