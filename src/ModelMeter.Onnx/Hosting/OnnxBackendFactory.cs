using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Metering;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Hosting;

/// <summary>
/// <c>"Backend": "Onnx"</c>: runs an Optimum export with ONNX Runtime here, batched where the model has a key/value
/// cache; writes the demo models on first use. Its keys are <see cref="OnnxModelOptions"/>. Registered by <c>AddOnnx()</c>.
/// </summary>
/// <param name="environment">Paths are relative to its content root.</param>
/// <param name="metrics">Where the batch metrics go.</param>
/// <param name="services">Gives the <see cref="CostMeter"/> when a model is created, where a batched model reports its work so
/// that its device is divided by work across models (not a constructor dependency: the meter is built from the validated options,
/// and validating them asks this factory).</param>
/// <param name="logger">Loading and demo-model messages.</param>
public sealed partial class OnnxBackendFactory(IHostEnvironment environment, ModelMeterMetrics metrics, IServiceProvider services, ILogger<OnnxBackendFactory> logger) : IModelBackendFactory
{
    /// <summary>The key/value cache a batched model may hold by default (<see cref="DefaultBatchTokens"/>).</summary>
    private const long CacheBudgetBytes = 1L << 30;

    /// <summary>The turns of each device's ONNX models, by device name: models on one device take turns.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DeviceTurns> _turns = new();

    /// <inheritdoc />
    public string Name => "Onnx";

    /// <inheritdoc />
    public int DefaultMaxConcurrency => 1;

    /// <inheritdoc />
    public IEnumerable<string> Validate(ModelBackendSettings model)
    {
        var options = model.Bind<OnnxModelOptions>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            yield return "Path: every ONNX model needs a directory.";
        }
        else if (!DemoModels.IsDemo(model.Model) && !File.Exists(Path.Combine(Resolve(options.Path), "model.onnx")))
        {
            yield return $"Path: no model.onnx in {Resolve(options.Path)}.";
        }

        if (model.Priced)
        {
            yield return "Price: an ONNX model runs on a device here; give Device instead.";
        }

        if (model.OnGpu)
        {
            yield return $"Device: '{model.Section["Device"]}' is a Gpu device, but ONNX Runtime here is the CPU build: the model would run on the CPU " +
                "and be billed at the GPU's rate. Put it on a device with \"Kind\": \"Cpu\".";
        }

        if (options.MaxBatch is < 1 or > 256)
        {
            yield return $"MaxBatch: {options.MaxBatch} is out of range 1..256.";
        }

        if (options.PrefillChunkTokens < 1)
        {
            yield return $"PrefillChunkTokens: {options.PrefillChunkTokens} must be at least 1.";
        }

        if (options.JoinWindowMs is < 0 or > 1000)
        {
            yield return $"JoinWindowMs: {options.JoinWindowMs} is out of range 0..1000.";
        }

        if (options.IntraOpThreads is < 0 or > 1024)
        {
            yield return $"IntraOpThreads: {options.IntraOpThreads} is out of range 0..1024 (0: one per processor).";
        }

        if (options.WarmUpTokens is < 0 or > 1_000_000)
        {
            yield return $"WarmUpTokens: {options.WarmUpTokens} is out of range 0..1000000 (0: no warm-up).";
        }

        if (options.MaxBatchTokens is < 1)
        {
            yield return $"MaxBatchTokens: {options.MaxBatchTokens} must be at least 1.";
        }
    }

    /// <inheritdoc />
    public Task<IModelBackend?> CreateAsync(ModelBackendSettings settings, CancellationToken cancellationToken)
    {
        var (model, options) = (settings.Model, settings.Bind<OnnxModelOptions>());
        var directory = Resolve(options.Path!);
        if (DemoModels.IsDemo(model) && DemoModels.EnsureWritten(model, directory))
        {
            LogDemoWritten(model, directory);
        }

        cancellationToken.ThrowIfCancellationRequested(); // the server stopped while the files were written: load nothing
        var meter = services.GetService(typeof(CostMeter)) as CostMeter;
        var work = meter?.GroupOf(model);
        var lm = OnnxCausalLm.Load(directory, options.IntraOpThreads, options.AllowSpinning, sharesDevice: work is not null && meter!.ModelsOn(work.Device) > 1);
        LogLoaded(model, directory, lm.UsesCache);
        if (options.WarmUpTokens > 0)
        {
            var began = Stopwatch.GetTimestamp();
            var tokens = lm.WarmUp(options.WarmUpTokens, options.PrefillChunkTokens);
            LogWarmedUp(model, tokens, Stopwatch.GetElapsedTime(began).TotalSeconds);
        }
        // Models without cache inputs re-run the whole sequence per token and are not batched.
        var (batchSize, batchRows, withoutOwner, turnWait) = (metrics.BatchSize.WithLabels(model), metrics.BatchRows.WithLabels(model), metrics.BatchRowsWithoutOwner.WithLabels(model), metrics.TurnWait.WithLabels(model));
        withoutOwner.IncTo(0); // exported from the start, so that an alert on it has a series to read
        turnWait.IncTo(0);
        // Every ONNX model on the device takes turns, and reports its work for the device's split as it does.
        var turns = work is null ? null : _turns.GetOrAdd(work.Device.Device, _ => new DeviceTurns()).Join(turnWait.Inc, work.ReportWork);
        var scheduler = options.MaxBatch > 1 && lm.UsesCache
            ? new BatchScheduler(lm, options.MaxBatch, options.MaxBatchTokens ?? DefaultBatchTokens(lm),
                onStep: rows => batchSize.Observe(rows), onRunning: rows => batchRows.Set(rows), onWithoutOwner: rows => withoutOwner.Inc(rows),
                prefillChunkTokens: options.PrefillChunkTokens, joinWindow: TimeSpan.FromMilliseconds(options.JoinWindowMs), turns: turns)
            : null;
        return Task.FromResult<IModelBackend?>(new OnnxBackend(lm, scheduler, scheduler is null ? turns : null));
    }

    /// <summary>As many tokens of cache as fit in 1 GiB, and at least one full context.</summary>
    internal static long DefaultBatchTokens(OnnxCausalLm model) => Math.Max(model.ContextLength, CacheBudgetBytes / Math.Max(model.CacheBytesPerToken, 1));

    private string Resolve(string path) => Path.GetFullPath(path, environment.ContentRootPath);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Wrote demo model {Model} to {Directory} (random weights: its text is noise)")]
    private partial void LogDemoWritten(string model, string directory);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Warmed up ONNX model {Model}: a prompt of {Tokens} tokens in chunks beside a decoding request, {Seconds:F1} s")]
    private partial void LogWarmedUp(string model, int tokens, double seconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Loaded ONNX model {Model} from {Directory} (key/value cache: {UsesCache})")]
    private partial void LogLoaded(string model, string directory, bool usesCache);
}
