namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The turns of the batched models that share one device: one model's turn (the prefill chunks of rows joining and the
/// decode step of its batch) runs at a time, first come, first served. Each model's ONNX Runtime uses every core for its
/// steps, so two steps at once only take the cores from each other (and their pool threads' spinning from both); in
/// turns, each step runs as fast as it would alone, and the time it holds the device is its work (see
/// <see cref="BatchScheduler"/>'s <c>onWork</c>). Models that should run side by side belong on devices of their own.
/// </summary>
public sealed class DeviceTurns
{
    private readonly object _gate = new(); // Monitor: a turn that waits sleeps until the one before it ends
    private long _next; // the ticket the next caller of Take gets
    private long _serving; // the ticket whose turn it is

    /// <summary>Turns asked for that have not begun (waiting for the one that holds the device and those asked before).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return (int)(_next - _serving) - (_next > _serving ? 1 : 0);
            }
        }
    }

    /// <summary>Waits until it is this caller's turn (after every turn asked for before), then holds the device until the turn is disposed.</summary>
    public Turn Take()
    {
        lock (_gate)
        {
            var ticket = _next++;
            while (_serving != ticket)
            {
                Monitor.Wait(_gate);
            }
        }

        return new Turn(this);
    }

    private void Release()
    {
        lock (_gate)
        {
            _serving++;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>A held turn; disposing it lets the next one run.</summary>
    public readonly struct Turn : IDisposable
    {
        private readonly DeviceTurns? _owner;

        internal Turn(DeviceTurns owner) => _owner = owner;

        /// <inheritdoc />
        public void Dispose() => _owner?.Release();
    }
}
