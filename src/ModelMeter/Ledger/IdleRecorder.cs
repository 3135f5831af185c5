using ModelMeter.Allocation;

namespace ModelMeter.Ledger;

/// <summary>Turns the devices' idle cost (and their whole bill) into one ledger row per device per minute.</summary>
public sealed class IdleRecorder
{
    private readonly IReadOnlyList<DeviceAllocator> _devices;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (DeviceShare Bill, DeviceShare Idle)> _recorded = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private DateTimeOffset _since;

    /// <summary>Starts recording the devices' idle cost from now.</summary>
    public IdleRecorder(IReadOnlyList<DeviceAllocator> devices, TimeProvider time)
    {
        _devices = devices;
        _time = time;
        _since = time.GetUtcNow();
    }

    /// <summary>
    /// The idle cost accrued since the last call, one row per device, placed in the minute the period
    /// began. Called at each minute boundary, at shutdown, and before a report that reaches the present
    /// (rows of one minute add up, so calling mid-minute is safe).
    /// </summary>
    public IReadOnlyList<IdleRow> Collect()
    {
        lock (_gate)
        {
            return CollectLocked();
        }
    }

    private List<IdleRow> CollectLocked()
    {
        var minute = new DateTimeOffset(_since.Ticks - _since.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        var rows = new List<IdleRow>(_devices.Count);
        foreach (var device in _devices)
        {
            var account = device.Snapshot();
            var recorded = _recorded.GetValueOrDefault(device.Device);
            var (bill, idle) = (account.Bill - recorded.Bill, account.Idle - recorded.Idle);
            _recorded[device.Device] = (account.Bill, account.Idle);
            if (idle.Usd > 0 || bill.Usd > 0 || bill.Joules > 0)
            {
                // The rate of the minute the row covers (a rate change at the boundary belongs to the next minute's row).
                rows.Add(new IdleRow(device.Device, minute, idle.Usd, device.Rates.HourlyUsdOf(device.Rates.VersionAt(minute)))
                {
                    BillUsd = bill.Usd,
                    EnergyJoules = idle.Joules,
                    Co2eGrams = idle.Co2eGrams,
                    BillJoules = bill.Joules,
                    BillCo2eGrams = bill.Co2eGrams,
                });
            }
        }

        _since = _time.GetUtcNow();
        return rows;
    }
}
