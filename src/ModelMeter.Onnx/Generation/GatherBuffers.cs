using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// Native memory a decode step gathers its rows' caches into, one buffer per past tensor, each kept for the next gather and
/// grown (by half at least) when a batch needs more: a model holds about one and a half times its largest gathered batch.
/// Not the garbage-collected heap: a batch is gathered again whenever a row joins or leaves, and as arrays of the large
/// object heap each new size started full background collections beside the steps (the shared pool kept 9 arrays of a size
/// where a step gathers one per past tensor, 24 for demo-large; one step took 129 ms while a long prompt joined 6 streams).
/// Fresh memory at each gather was no answer either: its page faults cost more than the copying (47 ms against 2 ms for 8
/// rows of 60 positions of demo-large on a 2-core VM). One step uses them at a time.
/// </summary>
internal sealed class GatherBuffers(int tensors) : IDisposable
{
    private readonly nint[] _buffers = new nint[tensors];
    private readonly long[] _bytes = new long[tensors];

    /// <summary>A float tensor of <paramref name="shape"/> over buffer <paramref name="index"/>; valid until the buffer's next use.</summary>
    public OrtValue Tensor(int index, long[] shape)
    {
        var bytes = shape.Aggregate((long)sizeof(float), (product, dimension) => product * dimension);
        if (bytes > _bytes[index])
        {
            var size = Math.Max(bytes, _bytes[index] + (_bytes[index] / 2));
            Marshal.FreeHGlobal(_buffers[index]);
            (_buffers[index], _bytes[index]) = (0, 0);
            _buffers[index] = Marshal.AllocHGlobal((nint)size);
            _bytes[index] = size;
        }

        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, _buffers[index], bytes);
    }

    public void Dispose()
    {
        for (var i = 0; i < _buffers.Length; i++)
        {
            Marshal.FreeHGlobal(_buffers[i]);
            (_buffers[i], _bytes[i]) = (0, 0);
        }
    }
}
