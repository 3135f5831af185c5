using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Metering;
using ModelMeter.Serving;

namespace ModelMeter.Server.Onnx;

/// <summary><c>"Backend": "Onnx"</c>: runs an Optimum export with ONNX Runtime here; writes the demo models on first use.</summary>
internal sealed partial class OnnxBackendFactory(IHostEnvironment environment, ModelMeterMetrics metrics, ILogger<OnnxBackendFactory> logger) : IModelBackendFactory
{
    /// <summary>The key/value cache a batched model may hold by default (<see cref="DefaultBatchTokens"/>).</summary>
    private const long CacheBudgetBytes = 1L << 30;

    public string Name => "Onnx";

    public int DefaultMaxConcurrency => 1;

    public IEnumerable<string> Validate(string model, ModelOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            yield return "Path: every ONNX model needs a directory.";
        }
        else if (!DemoModels.IsDemo(model) && !File.Exists(Path.Combine(Resolve(options.Path), "model.onnx")))
        {
            yield return $"Path: no model.onnx in {Resolve(options.Path)}.";
        }

        if (options.Price is not null)
        {
            yield return "Price: an ONNX model runs on a device here; give Device instead.";
        }
    }

    public Task<IModelBackend?> CreateAsync(string model, ModelOptions options, CancellationToken cancellationToken)
    {
        var directory = Resolve(options.Path!);
        if (DemoModels.IsDemo(model) && DemoModels.EnsureWritten(model, directory))
        {
            LogDemoWritten(model, directory);
        }

        var lm = OnnxCausalLm.Load(directory, options.IntraOpThreads);
        LogLoaded(model, directory, lm.UsesCache);
        // Models without cache inputs re-run the whole sequence per token and are not batched.
        var (batchSize, batchRows, withoutOwner) = (metrics.BatchSize.WithLabels(model), metrics.BatchRows.WithLabels(model), metrics.BatchRowsWithoutOwner.WithLabels(model));
        withoutOwner.IncTo(0); // exported from the start, so that an alert on it has a series to read
        var scheduler = options.MaxBatch > 1 && lm.UsesCache
            ? new BatchScheduler(lm, options.MaxBatch, options.MaxBatchTokens ?? DefaultBatchTokens(lm),
                onStep: rows => batchSize.Observe(rows), onRunning: rows => batchRows.Set(rows), onWithoutOwner: rows => withoutOwner.Inc(rows))
            : null;
        return Task.FromResult<IModelBackend?>(new OnnxBackend(lm, scheduler));
    }

    /// <summary>As many tokens of cache as fit in 1 GiB, and at least one full context.</summary>
    internal static long DefaultBatchTokens(OnnxCausalLm model) => Math.Max(model.ContextLength, CacheBudgetBytes / Math.Max(model.CacheBytesPerToken, 1));

    private string Resolve(string path) => Path.GetFullPath(path, environment.ContentRootPath);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Wrote demo model {Model} to {Directory} (random weights: its text is noise)")]
    private partial void LogDemoWritten(string model, string directory);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Loaded ONNX model {Model} from {Directory} (key/value cache: {UsesCache})")]
    private partial void LogLoaded(string model, string directory, bool usesCache);
}
