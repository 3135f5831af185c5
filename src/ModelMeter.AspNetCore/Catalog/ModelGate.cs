using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>
/// Bounds what a model computes at once: at most <c>maxConcurrency</c> requests whose padded batch holds at most
/// <c>maxTokens</c> tokens of cache (a batch is as long as its longest request, each counting its prompt plus its token
/// limit, so the rows times the longest), and at most <c>maxQueue</c> requests waiting.
/// Waiters enter in arrival order, so a large request is not passed over forever by small ones; a request larger than
/// <c>maxTokens</c> on its own enters when nothing else runs.
/// </summary>
internal sealed class ModelGate(int maxConcurrency, int maxQueue, long maxTokens = long.MaxValue)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiting = new();
    private readonly SortedDictionary<long, int> _weights = []; // the running requests' weights, with counts: the longest is the last
    private int _running;

    /// <summary>Waits for a turn for a request of <paramref name="tokens"/> tokens; returns null at once when the queue is full.</summary>
    public async ValueTask<Slot?> TryEnterAsync(long tokens, CancellationToken cancellationToken)
    {
        var weight = Math.Clamp(tokens, 0, maxTokens);
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            if (_waiting.Count == 0 && Fits(weight))
            {
                Take(weight);
                return new Slot(this, weight);
            }

            if (_waiting.Count >= maxQueue)
            {
                return null;
            }

            node = _waiting.AddLast(new Waiter(weight));
        }

        await using (cancellationToken.Register(() => Abandon(node, cancellationToken)))
        {
            await node.Value.Turn.Task;
        }

        return new Slot(this, weight);
    }

    private bool Fits(long weight) =>
        _running < maxConcurrency && (_running == 0 || maxTokens == long.MaxValue // unbounded (gateways): no walk to the longest
            || PaddedBatch.Fits(_running + 1, Math.Max(weight, _weights.Keys.Last()), maxTokens));

    private void Take(long weight)
    {
        _running++;
        _weights[weight] = _weights.GetValueOrDefault(weight) + 1;
    }

    private void Leave(long weight)
    {
        lock (_lock)
        {
            _running--;
            if (--_weights[weight] == 0)
            {
                _weights.Remove(weight);
            }

            LetInWhoFits();
        }
    }

    private void LetInWhoFits()
    {
        while (_waiting.First is { } first && Fits(first.Value.Weight))
        {
            _waiting.RemoveFirst();
            Take(first.Value.Weight);
            first.Value.Turn.SetResult();
        }
    }

    private void Abandon(LinkedListNode<Waiter> node, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (node.List is null)
            {
                return; // already let in: the caller gets its slot and gives it back
            }

            _waiting.Remove(node);
            LetInWhoFits(); // those behind a large request that left may fit now
        }

        node.Value.Turn.TrySetCanceled(cancellationToken);
    }

    private sealed record Waiter(long Weight)
    {
        public TaskCompletionSource Turn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A held turn; disposing it lets the next requests in.</summary>
    public sealed class Slot(ModelGate gate, long weight) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Leave(weight);
            }
        }
    }
}
