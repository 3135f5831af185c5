using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
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
            var seat = turns.Join();
            for (var i = 0; i < 500; i++)
            {
                using (seat.Take())
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
    public void Take_WhileATurnIsHeld_Waits_ThenTheSeatThatHeldTheDeviceLeastGoesFirst()
    {
        var time = new FakeTimeProvider();
        var turns = new DeviceTurns(time);
        var (busyWaits, lightWaits, holderWaits) = (new List<double>(), new List<double>(), new List<double>());
        var (busy, light, holder) = (turns.Join(busyWaits.Add), turns.Join(lightWaits.Add), turns.Join(holderWaits.Add));
        using (busy.Take())
        {
            time.Advance(TimeSpan.FromMilliseconds(30)); // busy has held the device 30 ms, light not at all
        }

        var order = new List<string>();
        Thread Asker(DeviceTurns.Seat seat, string name) => new(() =>
        {
            using (seat.Take())
            {
                lock (order)
                {
                    order.Add(name);
                }
            }
        });

        var (first, second) = (Asker(busy, "busy"), Asker(light, "light"));
        using (holder.Take())
        {
            first.Start();
            WaitUntil(() => turns.Waiting == 1);
            second.Start();
            WaitUntil(() => turns.Waiting == 2);
            Assert.Empty(order); // both wait while the device is held
        }

        Assert.True(second.Join(Deadline)); // busy asked first, but light has held the device less
        Assert.Equal(["light"], order);
        Assert.False(first.Join(TimeSpan.FromMilliseconds(50)), "light, still behind busy, keeps the device for its next turn");
        time.Advance(DeviceTurns.Keep); // and gives it up when it does not take it within Keep
        Assert.True(first.Join(Deadline));
        Assert.Equal(["light", "busy"], order);
        Assert.Empty(holderWaits); // it never waited
        Assert.Equal([0], lightWaits); // the fake clock stood still while it waited
        Assert.Equal([DeviceTurns.Keep.TotalSeconds], busyWaits);
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public void TwoBusySeats_OfLongAndShortTurns_TheShortOneGetsAboutAsMuchTimeAsTheLongOne()
    {
        // Turns of 10 and 2 ms (the fake clock) while the long seat takes 30, each ending only once the other waits: in order
        // of asking, the short seat would have one turn for each of the long one's (60 ms); by time held, about as much as
        // the long one (300 ms).
        var time = new FakeTimeProvider();
        var turns = new DeviceTurns(time);
        var (longHeld, shortHeld) = (0, 0);
        using var longStarted = new ManualResetEventSlim();
        using var longDone = new ManualResetEventSlim();
        var longSeat = new Thread(() =>
        {
            var seat = turns.Join();
            for (var i = 0; i < 30; i++)
            {
                using (seat.Take())
                {
                    longStarted.Set();
                    time.Advance(TimeSpan.FromMilliseconds(10));
                    longHeld += 10;
                    WaitUntil(() => turns.Waiting == 1); // both keep the device busy: the other one always waits
                }
            }

            longDone.Set();
        });
        var shortSeat = new Thread(() =>
        {
            var seat = turns.Join();
            longStarted.Wait();
            while (!longDone.IsSet)
            {
                using (seat.Take())
                {
                    time.Advance(TimeSpan.FromMilliseconds(2));
                    shortHeld += 2;
                    WaitUntil(() => turns.Waiting == 1 || longDone.IsSet);
                }
            }
        });
        shortSeat.Start();
        longSeat.Start();
        Assert.True(longSeat.Join(Deadline) && shortSeat.Join(Deadline));

        Assert.Equal(300, longHeld);
        Assert.InRange(shortHeld, 290, 312);
    }

    [Fact]
    public void ASeatBackFromAPause_StartsLevelWithTheOthers_NotAsFarBehindAsItWasAway()
    {
        var time = new FakeTimeProvider();
        var turns = new DeviceTurns(time);
        var (busy, back) = (turns.Join(), turns.Join());
        using (back.Take())
        {
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        for (var i = 0; i < 50; i++) // busy alone for 500 ms while back had no turn
        {
            using (busy.Take())
            {
                time.Advance(TimeSpan.FromMilliseconds(10));
            }
        }

        var order = new List<string>();
        var holder = turns.Join();
        Thread Asker(DeviceTurns.Seat seat, string name, int turnsToTake) => new(() =>
        {
            for (var i = 0; i < turnsToTake; i++)
            {
                using (seat.Take())
                {
                    lock (order)
                    {
                        order.Add(name);
                    }

                    time.Advance(TimeSpan.FromMilliseconds(10));
                }
            }
        });

        var (busyAsker, backAsker) = (Asker(busy, "busy", 1), Asker(back, "back", 3));
        using (holder.Take())
        {
            backAsker.Start();
            WaitUntil(() => turns.Waiting == 1);
            busyAsker.Start();
            WaitUntil(() => turns.Waiting == 2);
        }

        Assert.True(busyAsker.Join(Deadline) && backAsker.Join(Deadline));
        // Level with busy, back asked first and goes first; it is not 490 ms behind, so busy's turn comes after its first.
        Assert.Equal(["back", "busy", "back", "back"], order);
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
        using var schedulerA = new BatchScheduler(a, maxBatch: 2, onStepSeconds: _ => Interlocked.Increment(ref turnsA), turns: turns.Join());
        using var schedulerB = new BatchScheduler(b, maxBatch: 2, onStepSeconds: _ => Interlocked.Increment(ref turnsB), turns: turns.Join());

        var all = await Task.WhenAll(promptsA.Select(p => Collect(schedulerA, p, request)).Concat(promptsB.Select(p => Collect(schedulerB, p, request))));

        Assert.Equal([.. aloneA, .. aloneB], all);
        Assert.True(turnsA >= 24 && turnsB >= 24, $"both models took their turns: {turnsA} and {turnsB}");
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public async Task AnUnbatchedModel_TakesATurnForEachStep_WaitsWhileAnotherHoldsTheDevice_AndReportsItsTurns()
    {
        var turns = new DeviceTurns();
        var (waits, work) = (new ConcurrentQueue<double>(), new ConcurrentQueue<double>());
        using var backend = new OnnxBackend(OnnxCausalLm.Load(models.WithCache), turns: turns.Join(waits.Enqueue, work.Enqueue));
        var (prompt, request) = (Prompt.FromText("who holds the device"), new GenerationRequest(12));
        var alone = await Text(backend, prompt, request);
        Assert.Empty(waits); // alone on the device, no step waited
        Assert.Equal(2 * 13, work.Count); // 12 steps, a turn each (the prompt in the first), and the one that finds the end

        var other = turns.Join();
        Task<string> beside;
        using (other.Take())
        {
            beside = Task.Run(() => Text(backend, prompt, request));
            WaitUntil(() => turns.Waiting == 1); // its first step waits for the turn held here
        }

        Assert.Equal(alone, await beside);
        Assert.NotEmpty(waits);
        var reported = work.ToList();
        Assert.Equal(2 * 2 * 13, reported.Count);
        for (var i = 0; i < reported.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? DeviceTurns.HoldingWork : DeviceTurns.WaitingWork, reported[i]);
        }
    }

    private static async Task<string> Text(OnnxBackend backend, Prompt prompt, GenerationRequest request)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in backend.GenerateAsync(prompt, request, CancellationToken.None))
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
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
