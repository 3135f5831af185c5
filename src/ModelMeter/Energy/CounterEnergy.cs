namespace ModelMeter.Energy;

/// <summary>
/// A device's energy from a meter: a cumulative counter in millijoules (NVML's <c>nvmlDeviceGetTotalEnergyConsumption</c>),
/// or, where the counter is unsupported, its power in milliwatts integrated over time (<c>nvmlDeviceGetPowerUsage</c>).
/// </summary>
/// <remarks>
/// The counter moves in steps (about every 100 ms on an H200): between steps the energy is carried forward at the power of
/// the last step, so that an interval shorter than a step still gets its share, and the next step corrects it; the total
/// never runs backwards and never runs ahead of what the counter said by more than 0.2 s at the last step's power. A counter that goes
/// down (the driver was reloaded, or it wrapped) starts afresh from its new value; a counter that stalls adds nothing until it
/// moves. A reading that fails is skipped: the next good one covers the time.
/// </remarks>
public sealed class CounterEnergy : IEnergySource
{
    private readonly Func<ulong?> _readMillijoules;
    private readonly Func<uint?> _readMilliwatts;
    private readonly Lock _gate = new();
    private ulong? _lastCounter;
    private DateTimeOffset _lastStep;
    private double _stepWatts;
    private double _counted; // joules handed out so far, against the counter's own total since the first reading
    private double _metered; // joules the counter has shown since the first reading
    private bool _useCounter = true;

    /// <param name="readMillijoules">The counter's value, or null when the reading failed or is unsupported.</param>
    /// <param name="readMilliwatts">The power now, or null when the reading failed.</param>
    public CounterEnergy(Func<ulong?> readMillijoules, Func<uint?> readMilliwatts)
    {
        _readMillijoules = readMillijoules;
        _readMilliwatts = readMilliwatts;
    }

    /// <inheritdoc />
    public bool Estimated => false;

    /// <summary>Whether the energy counter is used (false: power is integrated instead).</summary>
    public bool UsesCounter => _useCounter;

    /// <inheritdoc />
    public double JoulesBetween(DateTimeOffset from, DateTimeOffset to, bool busy)
    {
        if (to <= from)
        {
            return 0;
        }

        lock (_gate)
        {
            if (_useCounter)
            {
                var counter = _readMillijoules();
                if (counter is null && _lastCounter is null)
                {
                    _useCounter = false; // unsupported from the start: integrate power instead
                }
                else
                {
                    return FromCounter(counter, from, to);
                }
            }

            return _readMilliwatts() is { } milliwatts ? milliwatts / 1000.0 * (to - from).TotalSeconds : 0;
        }
    }

    private double FromCounter(ulong? counter, DateTimeOffset from, DateTimeOffset to)
    {
        if (counter is { } value)
        {
            if (_lastCounter is not { } last)
            {
                (_lastCounter, _lastStep) = (value, to); // the first reading: energy counts from here
                return 0;
            }

            if (value < last)
            {
                (_lastCounter, _lastStep, _stepWatts) = (value, to, 0); // reloaded or wrapped: start afresh
                _counted = _metered;
                return 0;
            }

            if (value > last)
            {
                var stepJoules = (value - last) / 1000.0;
                var seconds = (to - _lastStep).TotalSeconds;
                _stepWatts = seconds > 0 ? stepJoules / seconds : _stepWatts;
                (_lastCounter, _lastStep) = (value, to);
                _metered += stepJoules;
                return HandOut(_metered - _counted); // the step, less what was carried forward ahead of it
            }
        }

        // No step since the last reading (or the reading failed): carry forward at the last step's power, at most MaxAheadSeconds ahead.
        var ahead = _counted - _metered;
        var carried = Math.Min(_stepWatts * (to - from).TotalSeconds, Math.Max(0, _stepWatts * MaxAheadSeconds - ahead));
        return HandOut(carried);
    }

    /// <summary>How far ahead of the counter the carried-forward energy may run, seconds of the last step's power (about two of NVML's steps).</summary>
    private const double MaxAheadSeconds = 0.2;

    private double HandOut(double joules)
    {
        joules = Math.Max(0, joules);
        _counted += joules;
        return joules;
    }
}
