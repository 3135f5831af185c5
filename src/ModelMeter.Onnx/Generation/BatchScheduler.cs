using System.Threading.Channels;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// Continuous batching for one model: requests join the running batch at the next step (their prompt prefilled alone),
/// every step decodes all rows in one forward pass, and finished or cancelled rows leave at the next step. One loop
/// thread computes; requests await their tokens. At most <c>maxBatch</c> rows holding at most <c>maxBatchTokens</c>
/// tokens of cache (each row counts its prompt plus its token limit) run; the model's admission gate keeps the rest
/// waiting (uncharged) outside, and the scheduler holds back any that would still exceed them.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly OnnxCausalLm _model;
    private readonly int _maxBatch;
    private readonly long _maxBatchTokens;
    private readonly Channel<Pending> _incoming = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Thread _loop;
    private readonly Action<int>? _onStep;

    /// <param name="model">A model with a key/value cache.</param>
    /// <param name="maxBatch">The most rows in one step.</param>
    /// <param name="maxBatchTokens">The most tokens of cache the rows may hold together; a larger request runs alone.</param>
    /// <param name="onStep">Told the number of rows of each step (for the batch-size histogram).</param>
    public BatchScheduler(OnnxCausalLm model, int maxBatch, long maxBatchTokens = long.MaxValue, Action<int>? onStep = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchTokens, 1);
        _model = model;
        _maxBatch = maxBatch;
        _maxBatchTokens = maxBatchTokens;
        _onStep = onStep;
        _loop = new Thread(Run) { IsBackground = true, Name = "ModelMeter batch scheduler" };
        _loop.Start();
    }

    /// <summary>The most rows in one step.</summary>
    public int MaxBatch => _maxBatch;

    /// <summary>The most tokens of cache the rows may hold together.</summary>
    public long MaxBatchTokens => _maxBatchTokens;

    /// <summary>The generated tokens of one request, each as soon as its step ends; end-of-text ends the sequence.</summary>
    public async IAsyncEnumerable<int> GenerateTokensAsync(
        IReadOnlyList<int> promptIds, GenerationRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var tokens = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        await _incoming.Writer.WriteAsync(new Pending(promptIds, request, tokens.Writer, cancellationToken), cancellationToken);
        await foreach (var token in tokens.Reader.ReadAllAsync(cancellationToken))
        {
            yield return token;
        }
    }

    /// <summary>Stops taking requests; the loop ends once the running rows are done.</summary>
    public void Dispose() => _incoming.Writer.TryComplete();

    private void Run()
    {
        var running = new List<(DecodeRow Row, Pending Request, int Sent)>();
        while (true)
        {
            if (running.Count == 0 && !_incoming.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                return;
            }

            var held = running.Sum(r => r.Request.Tokens);
            while (running.Count < _maxBatch && _incoming.Reader.TryPeek(out var next) && (running.Count == 0 || held + next.Tokens <= _maxBatchTokens))
            {
                _incoming.Reader.TryRead(out var pending);
                if (Join(pending!) is { } row)
                {
                    running.Add((row, pending!, row.Generated.Count)); // its first token went out at the join
                    held += pending!.Tokens;
                }
            }

            try
            {
                var rows = running.Select(r => r.Row).Where(r => !r.Finished).ToList();
                _model.DecodeStep(rows);
                if (rows.Count > 0)
                {
                    _onStep?.Invoke(rows.Count);
                }
            }
            catch (Exception e)
            {
                foreach (var (row, request, _) in running)
                {
                    request.Output.TryComplete(e);
                    row.Dispose();
                }

                running.Clear();
                continue;
            }

            for (var i = running.Count - 1; i >= 0; i--)
            {
                var (row, request, sent) = running[i];
                for (; sent < row.Generated.Count; sent++)
                {
                    request.Output.TryWrite(row.Generated[sent]);
                }

                running[i] = (row, request, sent);
                if (row.Finished || request.Cancellation.IsCancellationRequested)
                {
                    request.Output.TryComplete(request.Cancellation.IsCancellationRequested ? new OperationCanceledException(request.Cancellation) : null);
                    row.Dispose();
                    running.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>Prefills a new request alone and hands over its first token; null when it is already done.</summary>
    private DecodeRow? Join(Pending pending)
    {
        if (pending.Cancellation.IsCancellationRequested)
        {
            pending.Output.TryComplete(new OperationCanceledException(pending.Cancellation));
            return null;
        }

        DecodeRow row;
        try
        {
            row = _model.StartRow(pending.PromptIds, pending.Request, pending.Cancellation);
        }
        catch (Exception e)
        {
            pending.Output.TryComplete(e);
            return null;
        }

        foreach (var token in row.Generated)
        {
            pending.Output.TryWrite(token);
        }

        if (!row.Finished)
        {
            return row;
        }

        pending.Output.TryComplete();
        row.Dispose();
        return null;
    }

    private sealed record Pending(IReadOnlyList<int> PromptIds, GenerationRequest Request, ChannelWriter<int> Output, CancellationToken Cancellation)
    {
        /// <summary>The cache the row may grow to: its prompt plus its token limit.</summary>
        public long Tokens { get; } = Math.Max(PromptIds.Count, 1) + (long)Request.MaxTokens;
    }
}
