using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The batched models of one device take turns: one turn at a time, in the order asked.</summary>
[Collection(SmallModelsCollection.Name)]
public sealed class DeviceTurnsTests(SmallModels models)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void Turns_OfManyThreads_NeverOverlap()
    {
        var turns = new DeviceTurns();
        var (inside, most, taken) = (0, 0, 0);
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                using (turns.Take())
                {
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref most, now);
                    Thread.SpinWait(50);
                    Interlocked.Increment(ref taken);
                    Interlocked.Decrement(ref inside);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(Deadline)));

        Assert.Equal(1, most);
        Assert.Equal(2000, taken);
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public void Take_WhileATurnIsHeld_WaitsAndRunsInTheOrderAsked()
    {
        var turns = new DeviceTurns();
        var order = new List<string>();
        Thread Asker(string name) => new(() =>
        {
            using (turns.Take())
            {
                lock (order)
                {
                    order.Add(name);
                }
            }
        });

        var (first, second) = (Asker("first"), Asker("second"));
        using (turns.Take())
        {
            first.Start();
            WaitUntil(() => turns.Waiting == 1);
            second.Start();
            WaitUntil(() => turns.Waiting == 2);
            Assert.Empty(order); // both wait while the device is held
        }

        Assert.True(first.Join(Deadline) && second.Join(Deadline));
        Assert.Equal(["first", "second"], order);
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public async Task TwoModelsOnOneDevice_TakingTurns_EachGetsItsOwnGreedyTokens()
    {
        using var a = OnnxCausalLm.Load(models.LongContext);
        using var b = OnnxCausalLm.Load(models.WithCache);
        var request = new GenerationRequest(24);
        var (promptsA, promptsB) = (new[] { SmallModels.Prompt(a, 3), SmallModels.Prompt(a, 30) }, new[] { SmallModels.Prompt(b, 5), SmallModels.Prompt(b, 9) });
        var aloneA = promptsA.Select(p => a.GenerateTokens(p, request, default).ToList()).ToList();
        var aloneB = promptsB.Select(p => b.GenerateTokens(p, request, default).ToList()).ToList();
        var turns = new DeviceTurns();
        var (turnsA, turnsB) = (0, 0);
        using var schedulerA = new BatchScheduler(a, maxBatch: 2, onStepSeconds: _ => Interlocked.Increment(ref turnsA), turns: turns);
        using var schedulerB = new BatchScheduler(b, maxBatch: 2, onStepSeconds: _ => Interlocked.Increment(ref turnsB), turns: turns);

        var all = await Task.WhenAll(promptsA.Select(p => Collect(schedulerA, p, request)).Concat(promptsB.Select(p => Collect(schedulerB, p, request))));

        Assert.Equal([.. aloneA, .. aloneB], all);
        Assert.True(turnsA >= 24 && turnsB >= 24, $"both models took their turns: {turnsA} and {turnsB}");
        Assert.Equal(0, turns.Waiting);
    }

    private static async Task<List<int>> Collect(BatchScheduler scheduler, int[] prompt, GenerationRequest request)
    {
        var tokens = new List<int>();
        await foreach (var token in scheduler.GenerateTokensAsync(prompt, request, CancellationToken.None))
        {
            tokens.Add(token);
        }

        return tokens;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    private static void WaitUntil(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out waiting for the condition");
            Thread.Sleep(1);
        }
    }
}
