using ModelMeter.Energy;
using ModelMeter.Pricing;

namespace ModelMeter.Allocation;

/// <summary>
/// Splits one device's cost, energy and carbon among the requests running on it, in O(1) per request event.
/// The device's cost accrues every moment; while requests are in flight it is divided by weight through a running
/// sum <c>P</c> (what one unit of weight has earned), and while none is the cost is idle. Requests belong to groups
/// (one per model, <see cref="GroupFor"/>): an unmeasured group's members each weigh one request, so with no
/// measurements k requests each earn 1/k; a measured group (a batched model that reports its work: 1 while its turn holds
/// the device, a millionth between its turns) weighs that work as a whole and its members
/// share it equally. A request's cost is what its group's per-member sum grew
/// between its start and its end. Energy (read from the device's source at each event) and its carbon are split the
/// same way, in the same sums.
/// </summary>
/// <remarks>
/// Invariant: finished + in-flight partial + idle = bill, to rounding, for dollars, joules and grams alike: between two
/// events every group earns ΔP × its weight, and the weights add up to the total P was divided by.
/// An unmeasured request beside measured groups weighs the mean work of those groups (a request whose work cannot be
/// seen costs as much as an average model); with no measured group it weighs 1.
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
    private readonly List<AllocationGroup> _groups = [];
    private readonly AllocationGroup _default;
    private DeviceShare _perWeight;
    private int _measuredGroups; // groups with members and a measured work
    private double _measuredWork; // their work, summed
    private int _unmeasuredMembers; // members of groups without one
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
        _default = GroupFor("");
    }

    /// <summary>Where the device's energy comes from, or null.</summary>
    public IEnergySource? Energy => _energy;

    /// <summary>The device's name, as in configuration.</summary>
    public string Device { get; }

    /// <summary>The device's rate card.</summary>
    public RateCard Rates => _rates;

    /// <summary>A new group on this device for the requests of <paramref name="model"/> (unmeasured until it reports a step).</summary>
    public AllocationGroup GroupFor(string model)
    {
        lock (_gate)
        {
            var group = new AllocationGroup(this, model);
            _groups.Add(group);
            return group;
        }
    }

    /// <summary>See <see cref="AllocationGroup.ReportWork"/>.</summary>
    internal void ReportWork(AllocationGroup group, double work)
    {
        if (!double.IsFinite(work) || work <= 0)
        {
            return;
        }

        lock (_gate)
        {
            Advance();
            SettleAll(); // the mean work, and so every unmeasured member's weight, may change
            if (group.Members > 0 && !group.Measured)
            {
                _measuredGroups++;
                _unmeasuredMembers -= group.Members;
            }

            group.Work = work;
            // Every group has seen the per-weight sum: it starts again from zero, so that it keeps full precision however
            // often models report (a model waiting between turns weighs a millionth, and the sum grew by a million times
            // the cost of every gap between turns). The measured work is summed afresh rather than by the difference, which
            // would carry the rounding of millions of reports into the divisor.
            _perWeight = default;
            _measuredWork = 0;
            foreach (var each in _groups)
            {
                each.SeenPerWeight = default;
                _measuredWork += each.Members > 0 && each.Measured ? each.Work : 0;
            }
        }
    }

    internal (int InFlight, DeviceShare Ended) TotalsOf(AllocationGroup group)
    {
        lock (_gate)
        {
            return (group.Members, group.Ended);
        }
    }

    /// <summary>A request of the device's default group starts using the device now.</summary>
    internal AllocationTicket Start() => Start(_default);

    /// <summary>A request of the default group stops using the device now; returns its share.</summary>
    internal DeviceShare End(AllocationTicket ticket) => End(_default, ticket, out _);

    internal AllocationTicket Start(AllocationGroup group)
    {
        lock (_gate)
        {
            var now = Advance();
            if (group.Measured && group.Members == 0)
            {
                SettleAll(); // the mean work changes
                _measuredGroups++;
                _measuredWork += group.Work;
            }
            else
            {
                Settle(group);
                if (!group.Measured)
                {
                    _unmeasuredMembers++;
                }
            }

            group.Members++;
            _inFlight++;
            group.Snapshots += group.PerMember;
            return new AllocationTicket(group.PerMember, now.UtcTicks, _version);
        }
    }

    /// <summary>A request stops using the device now; returns its share: cost in US dollars, joules and grams of CO2e.</summary>
    internal DeviceShare End(AllocationGroup group, AllocationTicket ticket, out DateTimeOffset now)
    {
        DeviceShare share, charged;
        lock (_gate)
        {
            now = Advance();
            if (group.Measured && group.Members == 1)
            {
                SettleAll(); // the mean work changes
                _measuredGroups--;
                _measuredWork = _measuredGroups == 0 ? 0 : _measuredWork - group.Work;
            }
            else
            {
                Settle(group);
                if (!group.Measured)
                {
                    _unmeasuredMembers--;
                }
            }

            share = group.PerMember - ticket.Snapshot;
            group.Members--;
            group.Snapshots -= ticket.Snapshot;
            _inFlight--;
            _finished += share;
            // What the request is charged: its share, or with the Latency method its own latency × rate (the model's metric
            // follows the charge, as the ledger does; the device's finished total stays the shared time, against the bill).
            charged = _method == AllocationMethod.Latency ? share with { Usd = _rates.CostUsd(ticket.Started, now) } : share;
            group.Ended += charged;
            if (_inFlight == 0)
            {
                // Nothing left in flight: start the sums afresh so they keep full precision.
                _perWeight = default;
                foreach (var idle in _groups)
                {
                    (idle.PerMember, idle.SeenPerWeight, idle.Snapshots) = (default, default, default);
                }
            }
        }

        return charged;
    }

    /// <summary>Brings the device's accounts up to now and returns them.</summary>
    public DeviceAccount Snapshot()
    {
        lock (_gate)
        {
            Advance();
            var inFlight = default(DeviceShare);
            foreach (var group in _groups)
            {
                Settle(group);
                inFlight += group.PerMember * group.Members - group.Snapshots;
            }

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
        // Multiplications by reciprocals: a division costs several times a multiplication, and this runs twice a request.
        var spent = energy with { Usd = _rates.HourlyUsdOf(_version) * (until - _last).Ticks * HoursPerTick };
        _bill += spent;
        if (_inFlight == 0)
        {
            _idle += spent;
        }
        else
        {
            _perWeight += spent * (1 / (_measuredWork + _unmeasuredMembers * UnmeasuredWeight));
        }

        _last = until;
    }

    private const double HoursPerTick = 1.0 / TimeSpan.TicksPerHour;

    /// <summary>What an unmeasured request weighs: the mean work of the measured groups in flight, else 1.</summary>
    private double UnmeasuredWeight => _measuredGroups > 0 ? _measuredWork / _measuredGroups : 1;

    /// <summary>Brings <paramref name="group"/>'s per-member sum up to the device's per-weight sum, at the weights in force since.</summary>
    private void Settle(AllocationGroup group)
    {
        if (group.Members > 0)
        {
            var perMemberWeight = group.Measured ? group.Work / group.Members : UnmeasuredWeight;
            group.PerMember += (_perWeight - group.SeenPerWeight) * perMemberWeight;
        }

        group.SeenPerWeight = _perWeight;
    }

    private void SettleAll()
    {
        foreach (var group in _groups)
        {
            Settle(group);
        }
    }
}
