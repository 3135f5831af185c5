namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The key/value cache of the rows of one batched step, [rows, heads, capacity, width] per layer, left-padded. The rows of
/// that step read their caches from it (row <c>i</c> at index <c>i</c>) until each steps in another batch or is disposed;
/// the next step over the same rows in the same order feeds these tensors straight back in, with no copying, and appends
/// its new positions here when the model's presents hold only those.
/// </summary>
internal sealed class SharedStepCache(CacheTensors cache, DecodeRow[] rows)
{
    private int _users = rows.Length;

    /// <summary>The rows whose caches this holds, in batch order.</summary>
    public IReadOnlyList<DecodeRow> Rows => rows;

    /// <summary>The tensors.</summary>
    public CacheTensors Cache => cache;

    /// <summary>Where every row's positions end (the padded sequence length of every row's cache here).</summary>
    public int Length => cache.Used;

    /// <summary>Layer tensor <paramref name="index"/> (key and value of each layer in turn).</summary>
    public Microsoft.ML.OnnxRuntime.OrtValue Layer(int index) => cache.Layer(index);

    /// <summary>One row no longer reads from here; the tensors are freed when none does.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _users) == 0)
        {
            cache.Dispose();
        }
    }
}
