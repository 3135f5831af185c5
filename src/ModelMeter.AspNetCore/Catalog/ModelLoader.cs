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
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() => LoadAllAsync(stoppingToken), CancellationToken.None);

    /// <summary>
    /// Stops loading and waits (30 s at most) for a model part-way through it. A host that fails to start (a port in use,
    /// a bad certificate) is disposed without being stopped, and the process then exits: with a model still loading, its
    /// thread was inside ONNX Runtime's native code as the process tore the library down, and 2 in 24 such exits here ended
    /// in SIGSEGV or SIGABRT instead of exit code 1.
    /// </summary>
    public override void Dispose()
    {
        base.Dispose(); // cancels the loading
        try
        {
            ExecuteTask?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // Cancelled, or a load failed: either way nothing is loading now.
        }
    }

    private async Task LoadAllAsync(CancellationToken stoppingToken)
    {
        var failed = false;
        foreach (var (name, model) in options.Value.Models)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                // Stopped, or disposed after a failed start: ends quietly (a cancelled task would be logged as a critical
                // failure by a host that was never stopped).
                return;
            }

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
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Stopped part-way: whatever the factory met then (its services disposed, say) is not a model that failed.
                return;
            }
            catch (Exception e)
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
