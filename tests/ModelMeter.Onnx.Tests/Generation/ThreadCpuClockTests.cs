using System.Diagnostics;
using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The processor time of chosen threads, as the device's split reads a model's work (Linux only).</summary>
public sealed class ThreadCpuClockTests
{
    [Fact]
    public void AThreadThatComputes_IsCounted_AThreadThatSleeps_IsNot()
    {
        Assert.True(ThreadCpuClock.IsSupported, "threads' processor time is readable on Linux");
        int? busy = null, idle = null;
        using var started = new CountdownEvent(2);
        using var stop = new ManualResetEventSlim();
        var threads = new[]
        {
            new Thread(() => { busy = ThreadCpuClock.CurrentThreadId(); started.Signal(); while (!stop.IsSet) { Thread.SpinWait(100); } }),
            new Thread(() => { idle = ThreadCpuClock.CurrentThreadId(); started.Signal(); stop.Wait(); }),
        };
        foreach (var thread in threads)
        {
            thread.Start();
        }

        started.Wait();
        Assert.NotNull(busy);
        Assert.NotNull(idle);
        var wall = Stopwatch.StartNew(); // before the clocks take their starting readings: the wall time spans all they count
        var (busyClock, idleClock) = (new ThreadCpuClock([busy.Value]), new ThreadCpuClock([idle.Value]));
        while (busyClock.Seconds() < 0.2)
        {
            Assert.True(wall.Elapsed < TimeSpan.FromSeconds(30), "the spinning thread ran 0.2 s of processor time within 30 s");
            Thread.Sleep(10);
        }

        var (ran, slept, elapsed) = (busyClock.Seconds(), idleClock.Seconds(), wall.Elapsed.TotalSeconds);
        stop.Set();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.InRange(ran, 0.2, elapsed); // one thread runs at most the wall time
        Assert.True(slept < 0.05, $"the waiting thread ran {slept} s");
        var final = busyClock.Seconds();
        Assert.True(final >= ran);
        Assert.Equal(final, busyClock.Seconds()); // an ended thread keeps what it ran
        Assert.Equal(0, new ThreadCpuClock([busy.Value]).Seconds()); // and counts nothing on a clock made after it ended
    }
}
