using System.Runtime.CompilerServices;
using System.Text;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// An ONNX causal language model as a ModelMeter backend: renders chat messages, counts tokens, and streams
/// text as whole characters (a token that ends inside a multi-byte character waits for the next one). With a
/// <see cref="BatchScheduler"/> requests are decoded together (continuous batching).
/// </summary>
/// <param name="model">The model.</param>
/// <param name="scheduler">Its batch loop; null: each request is computed on its caller's thread, a token at a time.</param>
/// <param name="turns">
/// Without a scheduler: the model's place among the models taking turns on its device, each token's step one turn (a
/// batched model's scheduler takes its own); null: the steps run whenever asked.
/// </param>
public sealed class OnnxBackend(OnnxCausalLm model, BatchScheduler? scheduler = null, DeviceTurns.Seat? turns = null) : IModelBackend, ITokenCounter, IBatchingBackend
{
    // The pipeline counts a prompt's tokens (context check) and then generates from the same prompt: tokenize it once.
    private readonly ConditionalWeakTable<Prompt, IReadOnlyList<int>> _tokenized = new();

    /// <summary>The model run by this backend.</summary>
    public OnnxCausalLm Model => model;

    /// <inheritdoc />
    public int? ContextLength => model.ContextLength;

    /// <inheritdoc />
    public int MaxBatch => scheduler?.MaxBatch ?? 1;

    /// <inheritdoc />
    public long MaxBatchTokens => scheduler?.MaxBatchTokens ?? long.MaxValue;

    /// <inheritdoc />
    public int CountTokens(Prompt prompt) => Tokenize(prompt).Count;

    /// <inheritdoc />
    public int CountTokens(string text) => model.Tokenize(text).Count;

    /// <summary>
    /// The text the model continues: a text prompt as it is; chat messages as <c>role: content</c> lines ending with
    /// <c>assistant:</c>. GPT-2-style models have no chat template; a model exported with one would want it applied instead.
    /// </summary>
    public static string Render(Prompt prompt)
    {
        if (prompt.Text is { } text)
        {
            return text;
        }

        var rendered = new StringBuilder();
        foreach (var message in prompt.Messages!)
        {
            rendered.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return rendered.Append("assistant:").ToString();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Without a scheduler each chunk is computed when it is asked for, on the caller's thread (ONNX Runtime steps are
    /// synchronous); with one, the request joins the model's running batch and its tokens arrive as steps end.
    /// </remarks>
    public IAsyncEnumerable<GenerationChunk> GenerateAsync(Prompt prompt, GenerationRequest request, CancellationToken cancellationToken)
    {
        var promptIds = Tokenize(prompt);
        return scheduler is null
            ? Chunks(InTurns(model.GenerateTokens(promptIds, request, cancellationToken)), promptIds.Count, request).ToAsyncEnumerable()
            : ChunksAsync(scheduler.GenerateTokensAsync(promptIds, request, cancellationToken), promptIds.Count, request, cancellationToken);
    }

    /// <summary>Each step of <paramref name="tokens"/> (computed as the next token is asked for) in a turn of its own on the device.</summary>
    private IEnumerable<int> InTurns(IEnumerable<int> tokens)
    {
        if (turns is null)
        {
            foreach (var token in tokens)
            {
                yield return token;
            }

            yield break;
        }

        using var steps = tokens.GetEnumerator();
        while (true)
        {
            bool more;
            using (turns.Take())
            {
                more = steps.MoveNext();
            }

            if (!more)
            {
                yield break;
            }

            yield return steps.Current;
        }
    }

    private IEnumerable<GenerationChunk> Chunks(IEnumerable<int> tokens, int promptTokens, GenerationRequest request)
    {
        var chunker = new TextChunker(model, request, promptTokens);
        foreach (var token in tokens)
        {
            if (chunker.Add(token) is { } chunk)
            {
                yield return chunk;
            }

            if (chunker.Stopped)
            {
                yield break;
            }
        }

        yield return chunker.Last();
    }

    private async IAsyncEnumerable<GenerationChunk> ChunksAsync(
        IAsyncEnumerable<int> tokens, int promptTokens, GenerationRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var chunker = new TextChunker(model, request, promptTokens);
        await foreach (var token in tokens.WithCancellation(cancellationToken))
        {
            if (chunker.Add(token) is { } chunk)
            {
                yield return chunk;
            }

            if (chunker.Stopped)
            {
                yield break;
            }
        }

        yield return chunker.Last();
    }

    private IReadOnlyList<int> Tokenize(Prompt prompt) => _tokenized.GetValue(prompt, p => model.Tokenize(Render(p)));

    /// <inheritdoc />
    public void Dispose()
    {
        scheduler?.Dispose();
        model.Dispose();
    }
}
