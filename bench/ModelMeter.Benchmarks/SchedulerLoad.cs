using System.Collections.Concurrent;
using System.Diagnostics;
using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Benchmarks;

/// <summary>
/// The batch scheduler under load without HTTP (not a BenchmarkDotNet benchmark): 16 clients on demo-large, each sending
/// 32-token greedy requests back to back with prompts rotating through 4, 16, 48 and 96 tokens, as bench/load/mixed.lua
/// does over HTTP. Prints tokens per second, turns and rows per decode pass per MaxBatch. With <c>--staggered</c> the
/// clients start 61 ms apart, so that rows join and leave one at a time; otherwise they start together and, at a MaxBatch
/// of 16, join and leave in waves.
/// Usage: dotnet run -c Release --project bench/ModelMeter.Benchmarks -- scheduler [seconds] [--staggered] [MaxBatch...]
/// </summary>
internal static class SchedulerLoad
{
    private const int Clients = 16;

    public static async Task RunAsync(string[] args)
    {
        var staggered = args.Contains("--staggered");
        var numbers = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).Select(int.Parse).ToList();
        var seconds = numbers.Count > 0 ? numbers[0] : 10;
        var batches = numbers.Count > 1 ? numbers.Skip(1).ToList() : [1, 8, 16];
        var root = Directory.CreateTempSubdirectory("modelmeter-bench-scheduler-").FullName;
        try
        {
            DemoModels.EnsureWritten("demo-large", root);
            using var model = OnnxCausalLm.Load(root);
            var prompts = new[] { 4, 16, 48, 96 }.Select(n => model.Tokenize(string.Concat(Enumerable.Repeat(" money", n)))).ToArray();
            Console.WriteLine($"demo-large, {Clients} clients, 32 tokens each, prompts of 4/16/48/96 tokens, {seconds} s a case, {(staggered ? "staggered" : "starting together")}");
            foreach (var maxBatch in batches)
            {
                await RunCaseAsync(model, prompts, maxBatch, seconds, staggered);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task RunCaseAsync(OnnxCausalLm model, IReadOnlyList<int>[] prompts, int maxBatch, int seconds, bool staggered)
    {
        var (passes, turns) = (new ConcurrentQueue<int>(), new ConcurrentQueue<double>());
        using var scheduler = new BatchScheduler(model, maxBatch, onStep: passes.Enqueue, onStepSeconds: turns.Enqueue);
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => ClientAsync(scheduler, prompts, c, TimeSpan.FromSeconds(2), staggered))); // warm-up
        passes.Clear();
        turns.Clear();
        var clock = Stopwatch.StartNew();
        var tokens = (await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => ClientAsync(scheduler, prompts, c, TimeSpan.FromSeconds(seconds), staggered)))).Sum();
        var wall = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"MaxBatch {maxBatch,2}: {tokens / wall,5:F0} tokens/s, {turns.Count} turns of {turns.Average() * 1000:F1} ms on average, " +
            $"{passes.Average():F1} rows a decode pass, the loop busy {turns.Sum() / wall:P0}");
    }

    private static async Task<long> ClientAsync(BatchScheduler scheduler, IReadOnlyList<int>[] prompts, int client, TimeSpan duration, bool staggered)
    {
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        if (staggered)
        {
            await Task.Delay(client * 61);
        }

        long tokens = 0;
        for (var i = client; Stopwatch.GetTimestamp() < until; i++)
        {
            await foreach (var _ in scheduler.GenerateTokensAsync(prompts[i % prompts.Length], new GenerationRequest(32, Temperature: 0), CancellationToken.None))
            {
                tokens++;
            }
        }

        return tokens;
    }
}
