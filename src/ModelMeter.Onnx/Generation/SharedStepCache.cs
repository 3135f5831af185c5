using Microsoft.ML.OnnxRuntime;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The present key/value tensors of one batched step, [rows, heads, <see cref="Length"/>, width] per layer, left-padded.
/// The rows of that step read their caches from it (row <c>i</c> at index <c>i</c>) until each steps in another batch or is
/// disposed; the next step over the same rows in the same order feeds these tensors straight back in, with no copying.
/// </summary>
internal sealed class SharedStepCache(IDisposableReadOnlyCollection<OrtValue> outputs, DecodeRow[] rows, int length)
{
    private int _users = rows.Length;

    /// <summary>The rows whose caches this holds, in batch order.</summary>
    public IReadOnlyList<DecodeRow> Rows => rows;

    /// <summary>The padded sequence length of every row's cache here.</summary>
    public int Length => length;

    /// <summary>Layer tensor <paramref name="index"/> (key and value of each layer in turn); output 0 was the logits.</summary>
    public OrtValue Layer(int index) => outputs[index + 1];

    /// <summary>One row no longer reads from here; the tensors are freed when none does.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _users) == 0)
        {
            outputs.Dispose();
        }
    }
}
