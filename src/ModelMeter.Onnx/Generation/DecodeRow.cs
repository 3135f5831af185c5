using Microsoft.ML.OnnxRuntime;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// One request in batched decoding (<see cref="OnnxCausalLm.StartRow"/>, <see cref="OnnxCausalLm.DecodeStep"/>): its own
/// key/value cache, sampler and tokens. Finished at end-of-text or at its token limit; dispose it to free its cache.
/// </summary>
public sealed class DecodeRow : IDisposable
{
    private readonly OnnxCausalLm _model;
    private readonly List<long> _sequence;
    private readonly int _maxTokens;
    private readonly List<int> _generated = [];
    private OrtValue[] _cache = [];

    internal DecodeRow(OnnxCausalLm model, List<long> sequence, TokenSampler sampler, int maxTokens)
    {
        _model = model;
        _sequence = sequence;
        Sampler = sampler;
        _maxTokens = maxTokens;
    }

    /// <summary>The tokens generated so far (end-of-text excluded).</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>Whether the row reached end-of-text or its token limit.</summary>
    public bool Finished { get; private set; }

    /// <summary><c>stop</c> at end-of-text, <c>length</c> at the limit; null while running.</summary>
    public string? FinishReason { get; private set; }

    internal TokenSampler Sampler { get; }

    internal IReadOnlyList<OrtValue> Cache => _cache;

    internal int CacheLength { get; private set; }

    internal long LastToken => _sequence[^1];

    /// <summary>Takes a step's result: the sampled token and the row's new cache (ownership passes to the row).</summary>
    internal void Accept(int next, OrtValue[] cache, int cacheLength)
    {
        foreach (var value in _cache)
        {
            value.Dispose();
        }

        _cache = cache;
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

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var value in _cache)
        {
            value.Dispose();
        }

        _cache = [];
    }
}
