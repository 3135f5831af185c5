namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The turns of the ONNX models that share one device: one model's turn (the prefill chunks of rows joining and the
/// decode step of its batch, or one token's step of an unbatched model, see <see cref="OnnxBackend"/>) runs at a time.
/// Each model's ONNX Runtime uses every core for its steps, so two steps at once only take the cores from each other (and
/// their pool threads' spinning from both); in turns, each step runs as fast as it would alone, and the time it holds
/// the device is its model's (a seat reports <see cref="HoldingWork"/> and <see cref="WaitingWork"/> for the device's
/// split). Models that should run side by side belong on devices of their own.
/// </summary>
/// <remarks>
/// Models that keep the device busy get equal time on it, not equal turns: when the device comes free, the next turn is
/// that of the waiting model that has held it least, and a model that ends its turn still behind every waiting one keeps
/// the device for its next turn (for up to <see cref="Keep"/> while it does its bookkeeping between turns). A model of 2
/// ms steps beside one of 15 ms steps so takes several turns for each of the other's; in order of asking, its pace was
/// tied to the large one's steps. A model back from a pause (no turn for <see cref="Away"/>) starts level with the model
/// that last took a turn, so that it does not take the device for as long as it was away. Ties go to the model that asked
/// first.
/// </remarks>
public sealed class DeviceTurns
{
    /// <summary>How long a model that ended its turn behind the waiting ones keeps the device for its next.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromMilliseconds(2);

    /// <summary>How long without a turn makes a model's return a new start (level with the others, not behind them).</summary>
    public static readonly TimeSpan Away = TimeSpan.FromMilliseconds(100);

    /// <summary>What a model weighs in its device's split while one of its turns holds the device.</summary>
    public const double HoldingWork = 1;

    /// <summary>
    /// What a model with requests weighs between its turns: a millionth of a turn, so that another model's turn has the
    /// device's time to itself and the time no model holds it (the join window, the bookkeeping between turns) is shared
    /// by the models with requests, equally.
    /// </summary>
    public const double WaitingWork = 1e-6;

    private readonly TimeProvider _time;
    private readonly long _keepTicks;
    private readonly long _awayTicks;
    private readonly object _gate = new(); // Monitor: a turn that waits sleeps until the device is free and it is chosen
    private readonly List<Seat> _waiting = [];
    private bool _held;
    private Seat? _kept; // the seat that keeps the device for its next turn, until _keptUntil
    private long _keptUntil;
    private long _asked; // turns ever asked for: the order among seats that have held the device as long
    private long _floor; // the held ticks of the seat that last took a turn, where a seat back from a pause starts

    /// <param name="time">Times the turns; the system clock by default.</param>
    public DeviceTurns(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _keepTicks = (long)(Keep.TotalSeconds * _time.TimestampFrequency);
        _awayTicks = (long)(Away.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>A model's place among those taking turns on this device.</summary>
    /// <param name="waited">Told the seconds a turn waited for other models' turns, when it waited.</param>
    /// <param name="work">
    /// Told the model's work for the device's split (<see cref="Allocation.AllocationGroup.ReportWork"/>):
    /// <see cref="HoldingWork"/> when a turn takes the device, <see cref="WaitingWork"/> when it gives it up.
    /// </param>
    public Seat Join(Action<double>? waited = null, Action<double>? work = null) => new(this, waited, work);

    /// <summary>Turns asked for that have not begun (waiting for the one that holds the device and those chosen before).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    private Turn Take(Seat seat)
    {
        long asked, now;
        var waited = false;
        lock (_gate)
        {
            asked = now = _time.GetTimestamp();
            if (now - seat.Released > _awayTicks)
            {
                seat.Held = Math.Max(seat.Held, _floor);
            }

            if (_kept == seat)
            {
                _kept = null;
            }
            else if (_held || _waiting.Count > 0 || Kept(now))
            {
                seat.Asked = _asked++;
                _waiting.Add(seat);
                while (_held || Kept(now = _time.GetTimestamp()) || Next() != seat)
                {
                    if (!_held && Kept(now))
                    {
                        Monitor.Wait(_gate, _time.GetElapsedTime(now, _keptUntil));
                    }
                    else
                    {
                        Monitor.Wait(_gate);
                    }
                }

                _waiting.Remove(seat);
                _kept = null;
                waited = true;
            }

            _held = true;
            _floor = seat.Held;
        }

        now = _time.GetTimestamp();
        if (waited)
        {
            seat.Waited?.Invoke(_time.GetElapsedTime(asked, now).TotalSeconds);
        }

        seat.Work?.Invoke(HoldingWork);
        return new Turn(seat, now);
    }

    private void Release(Seat seat, long began)
    {
        seat.Work?.Invoke(WaitingWork); // before the next turn can take the device
        var now = _time.GetTimestamp();
        lock (_gate)
        {
            seat.Held += now - began;
            seat.Released = now;
            _held = false;
            if (_waiting.Count > 0)
            {
                if (seat.Held < Next().Held)
                {
                    (_kept, _keptUntil) = (seat, now + _keepTicks);
                }

                Monitor.PulseAll(_gate);
            }
        }
    }

    private bool Kept(long now) => _kept is not null && now < _keptUntil;

    private Seat Next()
    {
        var next = _waiting[0];
        foreach (var seat in _waiting)
        {
            if (seat.Held < next.Held || (seat.Held == next.Held && seat.Asked < next.Asked))
            {
                next = seat;
            }
        }

        return next;
    }

    /// <summary>One model's place: its turns, and how long they have held the device.</summary>
    public sealed class Seat
    {
        private readonly DeviceTurns _turns;

        internal Seat(DeviceTurns turns, Action<double>? waited, Action<double>? work) => (_turns, Waited, Work) = (turns, waited, work);

        /// <summary>Told the seconds a turn waited, when it waited.</summary>
        internal Action<double>? Waited { get; }

        /// <summary>Told the model's work when a turn takes the device and when it gives it up.</summary>
        internal Action<double>? Work { get; }

        /// <summary>The clock's ticks this seat's turns held the device, raised to the others' when it comes back from a pause.</summary>
        internal long Held;

        /// <summary>When it asked for the turn it waits for (the order of asking).</summary>
        internal long Asked;

        /// <summary>When its last turn ended (the clock's ticks).</summary>
        internal long Released = long.MinValue / 2;

        /// <summary>Waits until the device is free and this seat's turn comes, then holds the device until the turn is disposed.</summary>
        public Turn Take() => _turns.Take(this);

        internal void Release(long began) => _turns.Release(this, began);
    }

    /// <summary>A held turn; disposing it lets the next one run.</summary>
    public readonly struct Turn : IDisposable
    {
        private readonly Seat? _seat;
        private readonly long _began;

        internal Turn(Seat seat, long began) => (_seat, _began) = (seat, began);

        /// <inheritdoc />
        public void Dispose() => _seat?.Release(_began);
    }
}
