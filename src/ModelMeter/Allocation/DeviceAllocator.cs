using ModelMeter.Pricing;

namespace ModelMeter.Allocation;

/// <summary>
/// Splits one device's cost among the requests running on it, in O(1) per event.
/// The device's cost accrues every moment; while k requests are in flight each earns 1/k of it
/// through a running sum <c>S</c>, and while none is the cost is idle. A request's cost is the
/// growth of <c>S</c> between its start and its end.
/// </summary>
/// <remarks>
/// Invariant: finished costs + in-flight partial costs + idle = bill, to rounding.
/// With <see cref="AllocationMethod.Latency"/> the request cost is latency × rate instead; the bill
/// and idle are kept the same way, so the overcharge of that method can be seen against the bill.
/// </remarks>
public sealed class DeviceAllocator
{
    private readonly Lock _gate = new();
    private readonly RateCard _rates;
    private readonly TimeProvider _time;
    private readonly AllocationMethod _method;

    private DateTimeOffset _last;
    private int _version;
    private DateTimeOffset _nextChange;
    private int _inFlight;
    private double _perRequestSumUsd;
    private double _snapshotSumUsd;
    private double _billUsd;
    private double _idleUsd;
    private double _finishedUsd;

    /// <summary>Starts accounting for a device now: its bill begins at zero.</summary>
    public DeviceAllocator(string device, RateCard rates, TimeProvider time, AllocationMethod method = AllocationMethod.SharedTime)
    {
        Device = device;
        _rates = rates;
        _time = time;
        _method = method;
        _last = time.GetUtcNow();
        _version = rates.VersionAt(_last);
        _nextChange = rates.NextChangeAfter(_version);
    }

    /// <summary>The device's name, as in configuration.</summary>
    public string Device { get; }

    /// <summary>The device's rate card.</summary>
    public RateCard Rates => _rates;

    /// <summary>A request starts using the device now.</summary>
    internal AllocationTicket Start()
    {
        lock (_gate)
        {
            var now = Advance();
            _inFlight++;
            _snapshotSumUsd += _perRequestSumUsd;
            return new AllocationTicket(_perRequestSumUsd, now, _rates.HourlyUsdOf(_version), _version);
        }
    }

    /// <summary>A request stops using the device now; returns its cost in US dollars.</summary>
    internal double End(AllocationTicket ticket)
    {
        double costUsd;
        DateTimeOffset now;
        lock (_gate)
        {
            now = Advance();
            _inFlight--;
            _snapshotSumUsd -= ticket.Snapshot;
            costUsd = _perRequestSumUsd - ticket.Snapshot;
            _finishedUsd += costUsd;
            if (_inFlight == 0)
            {
                // Nothing left in flight: start the sums afresh so they keep full precision.
                _perRequestSumUsd = 0;
                _snapshotSumUsd = 0;
            }
        }

        return _method == AllocationMethod.Latency ? _rates.CostUsd(ticket.Started, now) : costUsd;
    }

    /// <summary>Brings the device's accounts up to now and returns them.</summary>
    public DeviceAccount Snapshot()
    {
        lock (_gate)
        {
            Advance();
            return new DeviceAccount(
                BillUsd: _billUsd,
                IdleUsd: _idleUsd,
                FinishedUsd: _finishedUsd,
                InFlightUsd: _inFlight * _perRequestSumUsd - _snapshotSumUsd,
                InFlight: _inFlight,
                RateVersion: _version);
        }
    }

    private DateTimeOffset Advance()
    {
        var now = _time.GetUtcNow();
        if (now <= _last)
        {
            return _last;
        }

        while (_nextChange <= now)
        {
            Accrue(_nextChange);
            _version++;
            _nextChange = _rates.NextChangeAfter(_version);
        }

        Accrue(now);
        return now;
    }

    private void Accrue(DateTimeOffset until)
    {
        var costUsd = _rates.HourlyUsdOf(_version) * (until - _last).Ticks / RateCard.TicksPerHour;
        _billUsd += costUsd;
        if (_inFlight == 0)
        {
            _idleUsd += costUsd;
        }
        else
        {
            _perRequestSumUsd += costUsd / _inFlight;
        }

        _last = until;
    }
}
