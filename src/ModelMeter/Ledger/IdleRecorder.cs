using ModelMeter.Allocation;

namespace ModelMeter.Ledger;

/// <summary>Turns the devices' idle cost (and their whole bill) into one ledger row per device per minute.</summary>
public sealed class IdleRecorder
{
    private readonly IReadOnlyList<DeviceAllocator> _devices;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, double> _recordedUsd = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _recordedBillUsd = new(StringComparer.Ordinal);
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
            var delta = account.IdleUsd - _recordedUsd.GetValueOrDefault(device.Device);
            var billDelta = account.BillUsd - _recordedBillUsd.GetValueOrDefault(device.Device);
            _recordedUsd[device.Device] = account.IdleUsd;
            _recordedBillUsd[device.Device] = account.BillUsd;
            if (delta > 0 || billDelta > 0)
            {
                // The rate of the minute the row covers (a rate change at the boundary belongs to the next minute's row).
                rows.Add(new IdleRow(device.Device, minute, delta, device.Rates.HourlyUsdOf(device.Rates.VersionAt(minute))) { BillUsd = billDelta });
            }
        }

        _since = _time.GetUtcNow();
        return rows;
    }
}
