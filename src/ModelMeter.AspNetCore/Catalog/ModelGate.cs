namespace ModelMeter.AspNetCore.Catalog;

/// <summary>Bounds how many requests a model computes at once and how many may wait for a turn.</summary>
internal sealed class ModelGate(int maxConcurrency, int maxQueue)
{
    private readonly SemaphoreSlim _slots = new(maxConcurrency, maxConcurrency);
    private int _waiting;

    /// <summary>Waits for a slot; returns null at once when the queue is full.</summary>
    public async ValueTask<Slot?> TryEnterAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0))
        {
            return new Slot(_slots);
        }

        if (Interlocked.Increment(ref _waiting) > maxQueue)
        {
            Interlocked.Decrement(ref _waiting);
            return null;
        }

        try
        {
            await _slots.WaitAsync(cancellationToken);
            return new Slot(_slots);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>A held slot; disposing it lets the next request in.</summary>
    public sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
