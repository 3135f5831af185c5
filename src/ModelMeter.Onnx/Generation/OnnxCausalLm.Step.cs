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
        var seen = UsesCache ? cache.Length : 0;
        var fresh = count - seen;
        var ids = new long[fresh];
        var positions = new long[fresh];
        for (var i = 0; i < fresh; i++)
        {
            ids[i] = sequence[seen + i];
            positions[i] = seen + i;
        }

        var mask = new long[count];
        Array.Fill(mask, 1L);

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

        // The presents become the next step's past: the cache takes them over and the logits are freed here,
        // so the collection itself is not disposed.
        using (var logitsValue = outputs[0])
        {
            var logits = logitsValue.GetTensorDataAsSpan<float>();
            var vocabulary = (int)logitsValue.GetTensorTypeAndShape().Shape[2];
            var next = count == sequence.Count ? sampler.Next(logits[^vocabulary..]) : -1;
            cache.Replace(outputs, count);
            return next;
        }
    }

    /// <summary>The per-layer key and value tensors carried from one step to the next.</summary>
    internal sealed class KeyValueCache : IDisposable
    {
        private readonly OrtValue[] _values;

        public KeyValueCache(OnnxCausalLm model)
        {
            _values = new OrtValue[model._pastNames.Length];
            for (var i = 0; i < _values.Length; i++)
            {
                _values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, model._heads, 0, model._headWidth]);
            }
        }

        /// <summary>Tokens held in the cache.</summary>
        public int Length { get; private set; }

        public IEnumerable<OrtValue> Values => _values;

        /// <summary>Hands the tensors over (to a batched row): this cache no longer owns them.</summary>
        public OrtValue[] TakeValues()
        {
            var taken = _values.ToArray();
            for (var i = 0; i < _values.Length; i++)
            {
                _values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, 1, 0, 1]);
            }

            return taken;
        }

        /// <summary>Takes over the step's present tensors (outputs 1..n) as the next step's past.</summary>
        public void Replace(IReadOnlyList<OrtValue> outputs, int length)
        {
            for (var i = 0; i < _values.Length; i++)
            {
                _values[i].Dispose();
                _values[i] = outputs[i + 1];
            }

            Length = length;
        }

        public void Dispose()
        {
            foreach (var value in _values)
            {
                value.Dispose();
            }
        }
    }
}
