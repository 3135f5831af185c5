using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelMeter.Onnx.Generation;

public sealed partial class OnnxCausalLm
{
    /// <summary>
    /// Runs one step over the first <paramref name="upTo"/> tokens of <paramref name="sequence"/> (all when null) and returns
    /// the next token; with a cache only the tokens not yet seen are fed. A step that stops short of the sequence's end (a
    /// prefill chunk) returns -1 without sampling, so that a seeded sampler draws as it would over the whole prompt.
    /// </summary>
    private int Step(List<long> sequence, KeyValueCache cache, TokenSampler sampler, RunOptions runOptions, CancellationToken cancellationToken, int? upTo = null)
    {
        var count = upTo ?? sequence.Count;
        var (seen, capacity) = UsesCache ? (cache.Length, cache.Capacity) : (0, 0);
        var fresh = count - seen;
        var ids = new long[fresh];
        var positions = new long[fresh];
        for (var i = 0; i < fresh; i++)
        {
            ids[i] = sequence[seen + i];
            positions[i] = seen + i;
        }

        // The cache's positions, its free ones masked out, then the new ones.
        var mask = new long[capacity + fresh];
        Array.Fill(mask, 1L, 0, seen);
        Array.Fill(mask, 1L, capacity, fresh);

        var names = new List<string>(3 + _pastNames.Length) { "input_ids", "attention_mask" };
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, fresh]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [1, mask.Length]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [1, fresh]);
        var values = new List<OrtValue>(names.Capacity) { idsValue, maskValue };
        if (_hasPositionIds)
        {
            names.Add("position_ids");
            values.Add(positionsValue);
        }

        names.AddRange(_pastNames);
        values.AddRange(cache.Values);

        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            outputs = _session.Run(runOptions, names, values, ["logits", .. _presentNames]);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        int next;
        try
        {
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var vocabulary = (int)outputs[0].GetTensorTypeAndShape().Shape[2];
            next = count == sequence.Count ? sampler.Next(logits[^vocabulary..]) : -1;
        }
        catch
        {
            outputs.Dispose();
            throw;
        }

        cache.Advance(outputs, count); // the cache takes the presents over (or copies them and frees the outputs)
        return next;
    }

    /// <summary>The per-layer key and value tensors of one request, carried from one step to the next.</summary>
    internal sealed class KeyValueCache(OnnxCausalLm model) : IDisposable
    {
        private CacheTensors _tensors = model.EmptyCache();

        /// <summary>Tokens held in the cache.</summary>
        public int Length => _tensors.Used;

        /// <summary>Positions the tensors have room for (free ones after <see cref="Length"/>, masked out).</summary>
        public int Capacity => _tensors.Capacity;

        public IReadOnlyList<OrtValue> Values => _tensors.Layers;

        /// <summary>Hands the tensors over (to a batched row): this cache no longer owns them.</summary>
        public CacheTensors Take()
        {
            var taken = _tensors;
            _tensors = model.EmptyCache();
            return taken;
        }

        /// <summary>
        /// Takes a step's outputs (presents at 1..n), which bring the cache to <paramref name="length"/> tokens: appended when the
        /// model's presents hold the new positions only, otherwise they become the cache; either way this cache owns or frees them.
        /// </summary>
        public void Advance(IDisposableReadOnlyCollection<OrtValue> outputs, int length)
        {
            if (model.AppendsPresents)
            {
                using (outputs)
                {
                    _tensors.Append(outputs, length - _tensors.Used);
                }

                return;
            }

            _tensors.Dispose();
            _tensors = model.FullCache(outputs, rows: 1, length);
        }

        public void Dispose() => _tensors.Dispose();
    }

    /// <summary>A cache of no positions for one row.</summary>
    private CacheTensors EmptyCache() => CacheTensors.Empty(CacheMemory, _pastNames.Length, 1, (int)_heads, (int)_headWidth);

    /// <summary>A step's presents as a cache, full: <paramref name="length"/> positions for each of <paramref name="rows"/>.</summary>
    private CacheTensors FullCache(IDisposableReadOnlyCollection<OrtValue> outputs, int rows, int length) =>
        CacheTensors.FromOutputs(CacheMemory, outputs, rows, (int)_heads, (int)_headWidth, length);
}
