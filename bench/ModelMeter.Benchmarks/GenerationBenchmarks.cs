using BenchmarkDotNet.Attributes;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Benchmarks;

/// <summary>128 new tokens on the demo-small shape: one step per token with the key/value cache against re-running the sequence.</summary>
[MemoryDiagnoser]
public class GenerationBenchmarks
{
    private const int NewTokens = 128;
    private string _root = null!;
    private OnnxCausalLm _cached = null!;
    private OnnxCausalLm _uncached = null!;
    private IReadOnlyList<int> _prompt = null!;

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("modelmeter-bench-").FullName;
        var config = DemoModels.Configs["demo-small"];
        DemoModels.EnsureWritten(config, Path.Combine(_root, "cached"), withPast: true, seed: 1);
        DemoModels.EnsureWritten(config, Path.Combine(_root, "uncached"), withPast: false, seed: 1);
        _cached = OnnxCausalLm.Load(Path.Combine(_root, "cached"));
        _uncached = OnnxCausalLm.Load(Path.Combine(_root, "uncached"));
        _prompt = _cached.Tokenize("The GPU bill arrived and nobody knew which model ate most of it.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cached.Dispose();
        _uncached.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public int WithKeyValueCache() => _cached.Generate(_prompt, new GenerationRequest(NewTokens), NullSink.Instance, default).OutputTokens;

    [Benchmark]
    public int RerunWholeSequence() => _uncached.Generate(_prompt, new GenerationRequest(NewTokens), NullSink.Instance, default).OutputTokens;

    private sealed class NullSink : ITokenSink
    {
        public static readonly NullSink Instance = new();

        public void OnToken(int tokenId)
        {
        }
    }
}
