using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Writes each device's idle time: a row per device every minute, the accrued part when a report that ends now asks
/// for it, and the last part when the host stops (before the ledger drains, since it is registered after it).
/// </summary>
internal sealed class IdleMinutes(LedgerStorage ledger, CostMeter meter, TimeProvider time) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _catchingUp = new(1, 1);
    private IdleRecorder? _idle;
    private Task? _minutes;
    private int _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _idle = new IdleRecorder(meter.Devices, time); // after the seeding: idle continues from the ledger's bills
        _minutes = RecordMinutesAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_idle is null || Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return; // never started (the start failed and said why), or stopped already
        }

        await _stopping.CancelAsync();
        await _minutes!;
        foreach (var row in _idle.Collect())
        {
            await ledger.Writer.RecordIdleAsync(row);
        }
    }

    /// <summary>
    /// Writes the idle time accrued so far, so a report that ends now includes it and adds up to the bill. One at a time,
    /// with the minute's own writing: a report that arrives while idle rows are being committed waits for them rather
    /// than reading without.
    /// </summary>
    public async Task CatchUpAsync()
    {
        await _catchingUp.WaitAsync();
        try
        {
            if (_idle is not null)
            {
                await ledger.Writer.RecordIdleAndWaitAsync(_idle.Collect());
            }
        }
        catch (LedgerUnavailableException)
        {
            // The rows stay queued for the next try; the report shows what the ledger holds.
        }
        finally
        {
            _catchingUp.Release();
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _catchingUp.Dispose();
    }

    private async Task RecordMinutesAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                var nextMinute = TimeSpan.FromTicks(TimeSpan.TicksPerMinute - now.Ticks % TimeSpan.TicksPerMinute);
                await Task.Delay(nextMinute, time, stopping).ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // work off the timer's callback
                // As a report's catch-up, and committed before the gate opens again: a report ending now that came between
                // this minute's collection and its commit would otherwise find neither (its own catch-up collects nothing).
                await CatchUpAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
