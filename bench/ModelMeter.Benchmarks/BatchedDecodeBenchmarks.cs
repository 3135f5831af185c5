using BenchmarkDotNet.Attributes;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Benchmarks;

/// <summary>
/// 16 requests × 32 new tokens on the demo-large shape: one after another (today's MaxConcurrency 1) against all 16
/// decoded together (prefill alone, then one batched step per token). The first figure for issue 9; no scheduler yet.
/// </summary>
[MemoryDiagnoser]
public class BatchedDecodeBenchmarks
{
    private const int Rows = 16;
    private const int NewTokens = 32;
    private string _root = null!;
    private OnnxCausalLm _model = null!;
    private int[][] _prompts = null!;

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("modelmeter-bench-batch-").FullName;
        DemoModels.EnsureWritten(DemoModels.Configs["demo-large"], _root, withPast: true, seed: 1);
        _model = OnnxCausalLm.Load(_root);
        var words = _model.Tokenize(" where did the money go and who ate the budget this month");
        _prompts = Enumerable.Range(0, Rows).Select(r => Enumerable.Range(0, 8 + 3 * r).Select(i => words[i % words.Count]).ToArray()).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public int OneAfterAnother() => _prompts.Sum(p => _model.GenerateTokens(p, Request, default).Count());

    [Benchmark]
    public int AllTogether()
    {
        var rows = _prompts.Select(p => _model.StartRow(p, Request)).ToList();
        try
        {
            while (rows.Any(r => !r.Finished))
            {
                _model.DecodeStep(rows.Where(r => !r.Finished).ToList());
            }

            return rows.Sum(r => r.Generated.Count);
        }
        finally
        {
            rows.ForEach(r => r.Dispose());
        }
    }

    private static GenerationRequest Request => new(NewTokens);
}
