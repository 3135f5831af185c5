using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Settles the shared devices' closed minutes in the fleet ledger every <c>Ledger:ClickHouse:SettleIntervalMs</c>: the
/// minutes every live replica's watermark has passed, and again those closed within <c>ResettleMinutes</c>, for rows
/// that arrived late. Every replica runs it; settling is deterministic, so two settlers agree.
/// </summary>
internal sealed partial class SharedDeviceSettler(LedgerStorage ledger, IOptions<ModelMeterOptions> options, TimeProvider time, ILogger<SharedDeviceSettler> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;
    private Task? _loop;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (ledger.Fleet is not null && options.Value.SharedDevices.Count > 0)
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return; // stopped already (a host stopped, then disposed)
        }

        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>One round: settles what can be settled now; the number of minutes written.</summary>
    public async Task<int> SettleOnceAsync(CancellationToken cancellationToken)
    {
        var fleet = ledger.Fleet!;
        var o = options.Value;
        var now = time.GetUtcNow();
        if (await fleet.FrontierAsync(now, TimeSpan.FromSeconds(o.Ledger.ClickHouse.NodeTimeoutSeconds), cancellationToken) is not { } frontier)
        {
            return 0;
        }

        var settled = 0;
        var until = frontier.Through < now ? frontier.Through : now;
        foreach (var device in o.SharedDevices)
        {
            var rates = o.Devices[device].ToRateCard();
            var last = await fleet.SettledThroughAsync(device, cancellationToken) ?? frontier.Since;
            var from = last.AddMinutes(-o.Ledger.ClickHouse.ResettleMinutes);
            settled += await fleet.SettleAsync(device, from < frontier.Since ? frontier.Since : from, until, at => rates.HourlyUsdOf(rates.VersionAt(at)), cancellationToken);
        }

        return settled;
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.Ledger.ClickHouse.SettleIntervalMs);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, time, stopping).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                await SettleOnceAsync(stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogSettleFailed(e); // the next round tries again: settling is idempotent
            }
        }
    }

    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "Could not settle shared devices in the fleet ledger; the next round tries again")]
    private partial void LogSettleFailed(Exception exception);
}
