using ModelMeter.Energy;
using ModelMeter.Pricing;

namespace ModelMeter.Allocation;

/// <summary>
/// Splits one device's cost, energy and carbon among the requests running on it, in O(1) per event.
/// The device's cost accrues every moment; while k requests are in flight each earns 1/k of it
/// through a running sum <c>S</c>, and while none is the cost is idle. A request's cost is the
/// growth of <c>S</c> between its start and its end. Energy (read from the device's source at each
/// event) and its carbon are split the same way, in the same sums.
/// </summary>
/// <remarks>
/// Invariant: finished + in-flight partial + idle = bill, to rounding, for dollars, joules and grams alike.
/// With <see cref="AllocationMethod.Latency"/> the request cost is latency × rate instead; the bill
/// and idle are kept the same way, so the overcharge of that method can be seen against the bill.
/// </remarks>
public sealed class DeviceAllocator
{
    private readonly Lock _gate = new();
    private readonly RateCard _rates;
    private readonly TimeProvider _time;
    private readonly AllocationMethod _method;
    private readonly IEnergySource? _energy;
    private readonly GridIntensity? _grid;

    private DateTimeOffset _last;
    private int _version;
    private DateTimeOffset _nextChange;
    private int _inFlight;
    private DeviceShare _perRequestSum;
    private DeviceShare _snapshotSum;
    private DeviceShare _bill;
    private DeviceShare _idle;
    private DeviceShare _finished;

    /// <summary>Starts accounting for a device now: its bill (and energy) begins at zero.</summary>
    /// <param name="device">The device's name.</param>
    /// <param name="rates">Its rate card.</param>
    /// <param name="time">The clock.</param>
    /// <param name="method">How request costs are reckoned.</param>
    /// <param name="energy">Where its energy comes from; null: no energy is counted.</param>
    /// <param name="grid">The grid's carbon intensity; null: no carbon is counted.</param>
    public DeviceAllocator(string device, RateCard rates, TimeProvider time, AllocationMethod method = AllocationMethod.SharedTime, IEnergySource? energy = null, GridIntensity? grid = null)
    {
        Device = device;
        _rates = rates;
        _time = time;
        _method = method;
        _energy = energy;
        _grid = grid;
        _last = time.GetUtcNow();
        _version = rates.VersionAt(_last);
        _nextChange = rates.NextChangeAfter(_version);
    }

    /// <summary>Where the device's energy comes from, or null.</summary>
    public IEnergySource? Energy => _energy;

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
            _snapshotSum += _perRequestSum;
            return new AllocationTicket(_perRequestSum, now, _rates.HourlyUsdOf(_version), _version);
        }
    }

    /// <summary>A request stops using the device now; returns its share: cost in US dollars, joules and grams of CO2e.</summary>
    internal DeviceShare End(AllocationTicket ticket)
    {
        DeviceShare share;
        DateTimeOffset now;
        lock (_gate)
        {
            now = Advance();
            _inFlight--;
            _snapshotSum -= ticket.Snapshot;
            share = _perRequestSum - ticket.Snapshot;
            _finished += share;
            if (_inFlight == 0)
            {
                // Nothing left in flight: start the sums afresh so they keep full precision.
                _perRequestSum = default;
                _snapshotSum = default;
            }
        }

        return _method == AllocationMethod.Latency ? share with { Usd = _rates.CostUsd(ticket.Started, now) } : share;
    }

    /// <summary>Brings the device's accounts up to now and returns them.</summary>
    public DeviceAccount Snapshot()
    {
        lock (_gate)
        {
            Advance();
            var inFlight = _perRequestSum * _inFlight - _snapshotSum;
            return new DeviceAccount(
                BillUsd: _bill.Usd,
                IdleUsd: _idle.Usd,
                FinishedUsd: _finished.Usd,
                InFlightUsd: inFlight.Usd,
                InFlight: _inFlight,
                RateVersion: _version)
            {
                Bill = _bill,
                Idle = _idle,
                Finished = _finished,
                InFlightShare = inFlight,
            };
        }
    }

    private DateTimeOffset Advance()
    {
        var now = _time.GetUtcNow();
        if (now <= _last)
        {
            return _last;
        }

        // The energy of the whole interval, read once (a meter's reading is a native call), at the carbon intensity now.
        var joules = _energy?.JoulesBetween(_last, now, _inFlight > 0) ?? 0;
        var energy = new DeviceShare(0, joules, _grid?.GramsOf(joules, now) ?? 0);
        while (_nextChange <= now)
        {
            Accrue(_nextChange, default);
            _version++;
            _nextChange = _rates.NextChangeAfter(_version);
        }

        Accrue(now, energy);
        return now;
    }

    private void Accrue(DateTimeOffset until, DeviceShare energy)
    {
        var spent = energy with { Usd = _rates.HourlyUsdOf(_version) * (until - _last).Ticks / RateCard.TicksPerHour };
        _bill += spent;
        if (_inFlight == 0)
        {
            _idle += spent;
        }
        else
        {
            _perRequestSum += spent / _inFlight;
        }

        _last = until;
    }
}
