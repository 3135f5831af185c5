using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>Makes every configured model's backend in the background, so the server answers health checks at once.</summary>
internal sealed partial class ModelLoader(
    IOptions<ModelMeterOptions> options, ModelSections sections, ModelCatalog catalog, IEnumerable<IModelBackendFactory> factories, TimeProvider time, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() => LoadAllAsync(stoppingToken), stoppingToken);

    private async Task LoadAllAsync(CancellationToken stoppingToken)
    {
        var failed = false;
        foreach (var (name, model) in options.Value.Models)
        {
            stoppingToken.ThrowIfCancellationRequested();
            var factory = factories.Last(f => string.Equals(f.Name, model.Backend, StringComparison.OrdinalIgnoreCase));
            try
            {
                var started = time.GetTimestamp();
                var backend = await factory.CreateAsync(sections.For(name, model, options.Value.Devices), stoppingToken);
                var batching = backend as IBatchingBackend;
                var concurrency = model.MaxConcurrency ?? Math.Max(factory.DefaultMaxConcurrency, batching?.MaxBatch ?? 1);
                catalog.Add(new ServedModel(name, backend, new ModelGate(concurrency, model.MaxQueue, batching?.MaxBatchTokens ?? long.MaxValue)));
                LogLoaded(name, factory.Name, time.GetElapsedTime(started).TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed = true;
                catalog.MarkFailed(name);
                LogLoadFailed(e, name, factory.Name);
            }
        }

        if (!failed)
        {
            catalog.MarkReady();
        }
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Loaded model {Model} ({Backend}) in {Seconds:F1} s")]
    private partial void LogLoaded(string model, string backend, double seconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Could not load model {Model} ({Backend})")]
    private partial void LogLoadFailed(Exception exception, string model, string backend);
}
