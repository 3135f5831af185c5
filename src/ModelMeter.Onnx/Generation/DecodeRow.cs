using Microsoft.ML.OnnxRuntime;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// One request in batched decoding (<see cref="OnnxCausalLm.StartRow"/>, <see cref="OnnxCausalLm.DecodeStep"/>): its own
/// key/value cache (after prefill) or its place in the last step's shared one, its sampler and its tokens. Finished at
/// end-of-text or at its token limit; dispose it to free its cache.
/// </summary>
public sealed class DecodeRow : IDisposable
{
    private readonly OnnxCausalLm _model;
    private readonly List<long> _sequence;
    private readonly int _maxTokens;
    private readonly List<int> _generated = [];
    private CacheTensors? _own;
    private SharedStepCache? _shared;

    internal DecodeRow(OnnxCausalLm model, List<long> sequence, TokenSampler sampler, int maxTokens)
    {
        _model = model;
        _sequence = sequence;
        Sampler = sampler;
        _maxTokens = maxTokens;
        PromptLength = sequence.Count;
    }

    /// <summary>Whether the row's prompt is still being computed (<see cref="OnnxCausalLm.PrefillChunk"/>); it cannot decode yet.</summary>
    public bool Prefilling => Prefill is not null;

    /// <summary>Prompt tokens not computed yet.</summary>
    public int PromptLeft => Prefill is { } cache ? PromptLength - cache.Length : 0;

    /// <summary>The cache of a prompt being computed chunk by chunk; null once the row has its first token.</summary>
    internal OnnxCausalLm.KeyValueCache? Prefill { get; set; }

    internal int PromptLength { get; }

    internal List<long> Sequence => _sequence;

    /// <summary>The tokens generated so far (end-of-text excluded).</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>The most tokens the row may still generate (fewer where end-of-text or its reader ends it sooner).</summary>
    public int TokensLeft => _maxTokens - _generated.Count;

    /// <summary>Whether the row reached end-of-text or its token limit.</summary>
    public bool Finished { get; private set; }

    /// <summary><c>stop</c> at end-of-text, <c>length</c> at the limit; null while running.</summary>
    public string? FinishReason { get; private set; }

    internal TokenSampler Sampler { get; }

    /// <summary>The positions the row's cache holds (its prompt and generated tokens so far, less the last).</summary>
    internal int CacheLength { get; private set; }

    /// <summary>The shared cache of the row's last step, null while it has its own (after prefill).</summary>
    internal SharedStepCache? Shared => _shared;

    /// <summary>The row's index in <see cref="Shared"/>.</summary>
    internal int Slot { get; private set; }

    internal long LastToken => _sequence[^1];

    /// <summary>The row's own cache (after prefill, until it steps in a batch); null while it has none or a shared one.</summary>
    internal CacheTensors? Own => _own;

    /// <summary>
    /// Where layer tensor <paramref name="index"/> of the row's cache lies: a [batch, heads, capacity, width] tensor, the
    /// row's batch index in it, where the row's positions end (they are the <see cref="CacheLength"/> before it), and the
    /// tensor's capacity.
    /// </summary>
    internal (OrtValue Tensor, int Row, int End, int Capacity) Source(int index) =>
        _shared is { } shared ? (shared.Layer(index), Slot, shared.Length, shared.Cache.Capacity) : (_own!.Layer(index), 0, _own.Used, _own.Capacity);

    /// <summary>Takes the prefill's result: the first token and the row's own cache (ownership passes to the row).</summary>
    internal void Accept(int next, CacheTensors cache, int cacheLength)
    {
        Release();
        _own = cache;
        Take(next, cacheLength);
    }

    /// <summary>Takes a step's result whose new positions were appended to the cache the row already reads (its own or shared).</summary>
    internal void Advance(int next, int cacheLength) => Take(next, cacheLength);

    /// <summary>Takes a batched step's result: the next token and the row's place in the step's shared cache.</summary>
    internal void Accept(int next, SharedStepCache shared, int slot, int cacheLength)
    {
        Release();
        (_shared, Slot) = (shared, slot);
        Take(next, cacheLength);
    }

    private void Take(int next, int cacheLength)
    {
        CacheLength = cacheLength;
        if (next == _model.EndOfTextId)
        {
            (Finished, FinishReason) = (true, "stop");
            return;
        }

        _generated.Add(next);
        _sequence.Add(next);
        if (_generated.Count >= _maxTokens)
        {
            (Finished, FinishReason) = (true, "length");
        }
    }

    private void Release()
    {
        Prefill?.Dispose();
        Prefill = null;
        _own?.Dispose();
        _own = null;
        _shared?.Release();
        _shared = null;
    }

    /// <inheritdoc />
    public void Dispose() => Release();
}
