using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// The key/value tensors of one or more rows, one per past input of the model: [rows, heads, <see cref="Capacity"/>, width],
/// every row's positions ending at <see cref="Used"/> (left-padded: a shorter row's first positions are zeros, masked out),
/// the positions after it zeros. Either a step's presents as they came out, full (<see cref="Capacity"/> = <see cref="Used"/>:
/// a model whose presents hold the whole cache replaces them with the next step's), or native memory of the model's
/// <see cref="CacheMemory"/> with room after <see cref="Used"/>, to which a model whose presents hold the new positions only
/// has them appended (<see cref="Append"/>; copied into a larger block when full).
/// </summary>
internal sealed class CacheTensors : IDisposable
{
    /// <summary>Free positions a block is given beyond those it must hold, at least (a quarter of them when that is more).</summary>
    public const int Headroom = 32;

    private readonly CacheMemory _memory;
    private readonly int _rows;
    private readonly int _heads;
    private readonly int _width;
    private OrtValue[] _layers;
    private CacheMemory.Block[] _blocks; // the native memory under _layers; empty while _owner holds it
    private IDisposable? _owner; // the step outputs (or tensors) _layers are, when not blocks

    private CacheTensors(CacheMemory memory, int rows, int heads, int width, OrtValue[] layers, CacheMemory.Block[] blocks, IDisposable? owner, int capacity, int used)
    {
        (_memory, _rows, _heads, _width) = (memory, rows, heads, width);
        (_layers, _blocks, _owner) = (layers, blocks, owner);
        (Capacity, Used) = (capacity, used);
    }

    /// <summary>Positions each row's tensors hold room for.</summary>
    public int Capacity { get; private set; }

    /// <summary>Where every row's positions end: those before are the rows' (or padding), those after are free.</summary>
    public int Used { get; private set; }

    /// <summary>Layer tensor <paramref name="index"/> (key and value of each layer in turn).</summary>
    public OrtValue Layer(int index) => _layers[index];

    /// <summary>All layer tensors in order, as the past inputs of a step.</summary>
    public IReadOnlyList<OrtValue> Layers => _layers;

    /// <summary>Zero positions per row: the past of a first step.</summary>
    public static CacheTensors Empty(CacheMemory memory, int tensors, int rows, int heads, int width)
    {
        var layers = new OrtValue[tensors];
        for (var i = 0; i < tensors; i++)
        {
            layers[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [rows, heads, 0, width]);
        }

        return new CacheTensors(memory, rows, heads, width, layers, [], new Disposables(layers), 0, 0);
    }

    /// <summary>
    /// A step's presents (outputs 1..n; output 0 was the logits), full: <paramref name="used"/> positions each. Disposing
    /// these tensors disposes <paramref name="outputs"/>.
    /// </summary>
    public static CacheTensors FromOutputs(CacheMemory memory, IDisposableReadOnlyCollection<OrtValue> outputs, int rows, int heads, int width, int used) =>
        new(memory, rows, heads, width, [.. outputs.Skip(1)], [], outputs, used, used);

    /// <summary>Native tensors of <paramref name="capacity"/> positions, none used yet: the caller writes them (and zeros what no row holds).</summary>
    public static CacheTensors Allocate(CacheMemory memory, int tensors, int rows, int heads, int width, int capacity)
    {
        var blocks = new CacheMemory.Block[tensors];
        var layers = new OrtValue[tensors];
        var bytes = (long)rows * heads * capacity * width * sizeof(float);
        try
        {
            for (var i = 0; i < tensors; i++)
            {
                blocks[i] = memory.Rent(bytes);
                layers[i] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [rows, heads, capacity, width], blocks[i].Pointer, bytes);
            }
        }
        catch
        {
            Release(memory, layers, blocks);
            throw;
        }

        return new CacheTensors(memory, rows, heads, width, layers, blocks, null, capacity, 0);
    }

    /// <summary>
    /// The capacity to give tensors that must hold <paramref name="positions"/>: those and <see cref="Headroom"/> more (or a
    /// quarter more). Every step attends over the free positions too (masked out), so room costs attention: a 24-token chunk
    /// of a prompt at 450 positions took 28-30 ms with room for 562 and 32-46 ms with room for its whole 900 reserved
    /// (demo-large, 2 cores), where copying into a larger block a quarter further on costs a few milliseconds once.
    /// </summary>
    public static int CapacityFor(int positions) => positions + Math.Max(Headroom, positions / 4);

    /// <summary>Marks positions up to <paramref name="used"/> as written (after <see cref="Allocate"/>).</summary>
    public void SetUsed(int used)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(used, Capacity);
        Used = used;
    }

    /// <summary>
    /// Appends a step's presents (outputs 1..n, [rows, heads, <paramref name="fresh"/>, width], the new positions only) after
    /// <see cref="Used"/>, copying everything into larger tensors first when they have no room.
    /// </summary>
    public void Append(IReadOnlyList<OrtValue> outputs, int fresh)
    {
        EnsureRoom(Used + fresh);
        var block = fresh * _width;
        for (var i = 0; i < _layers.Length; i++)
        {
            var source = outputs[i + 1].GetTensorDataAsSpan<float>();
            var target = _layers[i].GetTensorMutableDataAsSpan<float>();
            for (var head = 0; head < _rows * _heads; head++)
            {
                source.Slice(head * block, block).CopyTo(target.Slice(((head * Capacity) + Used) * _width, block));
            }
        }

        Used += fresh;
    }

    private void EnsureRoom(int positions)
    {
        if (positions <= Capacity)
        {
            return;
        }

        var larger = Allocate(_memory, _layers.Length, _rows, _heads, _width, CapacityFor(positions));
        var (kept, stride) = (Used * _width, larger.Capacity * _width);
        for (var i = 0; i < _layers.Length; i++)
        {
            var source = _layers[i].GetTensorDataAsSpan<float>();
            var target = larger._layers[i].GetTensorMutableDataAsSpan<float>();
            for (var head = 0; head < _rows * _heads; head++)
            {
                source.Slice(head * Capacity * _width, kept).CopyTo(target.Slice(head * stride, kept));
                target.Slice((head * stride) + kept, stride - kept).Clear(); // free positions are zeros, as padding is
            }
        }

        Free();
        (_layers, _blocks, _owner, Capacity) = (larger._layers, larger._blocks, null, larger.Capacity);
        (larger._layers, larger._blocks) = ([], []);
    }

    private void Free()
    {
        if (_owner is not null)
        {
            _owner.Dispose();
            _owner = null;
        }
        else
        {
            Release(_memory, _layers, _blocks);
        }

        (_layers, _blocks) = ([], []);
    }

    private static void Release(CacheMemory memory, OrtValue?[] layers, CacheMemory.Block[] blocks)
    {
        foreach (var layer in layers)
        {
            layer?.Dispose();
        }

        foreach (var block in blocks)
        {
            if (block.Pointer != 0)
            {
                memory.Return(block);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => Free();

    private sealed class Disposables(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
