using Microsoft.Extensions.Time.Testing;

namespace ModelMeter.Testing;

/// <summary>
/// A fake clock that runs with real time until <see cref="StopAsync"/>, so that a test can read a device's bill
/// at the very moment the ledger closed, and advance it by whole minutes in between.
/// </summary>
public sealed class RunningClock : IAsyncDisposable
{
    private readonly CancellationTokenSource _ticking = new();
    private readonly Task _running;

    /// <param name="start">The fake clock's first reading; now when null.</param>
    public RunningClock(DateTimeOffset? start = null)
    {
        Time = new FakeTimeProvider(start ?? DateTimeOffset.UtcNow);
        _running = Task.Run(async () =>
        {
            while (!_ticking.IsCancellationRequested)
            {
                await Task.Delay(5);
                var advancing = System.Diagnostics.Stopwatch.StartNew();
                Time.Advance(TimeSpan.FromMilliseconds(5)); // runs due timer callbacks on this thread
                LongestAdvance = advancing.Elapsed > LongestAdvance ? advancing.Elapsed : LongestAdvance;
            }
        });
    }

    public FakeTimeProvider Time { get; }

    /// <summary>The longest one tick took: a timer callback that works (or blocks) on the clock's thread stops the clock meanwhile.</summary>
    public TimeSpan LongestAdvance { get; private set; }

    /// <summary>Freezes the clock.</summary>
    public async Task StopAsync()
    {
        await _ticking.CancelAsync();
        await _running;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _ticking.Dispose();
    }
}
