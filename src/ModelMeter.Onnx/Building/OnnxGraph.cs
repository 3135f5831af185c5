using System.Runtime.InteropServices;
using ModelMeter.Onnx.Protobuf;

namespace ModelMeter.Onnx.Building;

/// <summary>
/// Builds an ONNX model (graph, initializers, inputs, outputs) and writes its protobuf bytes.
/// Field numbers are those of the public onnx.proto.
/// </summary>
internal sealed class OnnxGraph
{
    private const long IrVersion = 8;
    private const long Opset = 17;

    private readonly List<ProtoMessage> _nodes = [];
    private readonly List<ProtoMessage> _initializers = [];
    private readonly List<ProtoMessage> _inputs = [];
    private readonly List<ProtoMessage> _outputs = [];
    private readonly List<ProtoMessage> _metadata = [];
    private int _nextId;

    /// <summary>Adds a float initializer and returns its name.</summary>
    public string Weight(string name, float[] values, params long[] dims)
    {
        var tensor = new ProtoMessage().Int64s(1, dims).Int64(2, (long)TensorType.Float).String(8, name)
            .Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        _initializers.Add(tensor);
        return name;
    }

    /// <summary>Adds an int64 constant initializer with a fresh name; an empty <paramref name="dims"/> makes a scalar.</summary>
    public string Int64Constant(long[] values, params long[] dims)
    {
        var name = $"const_{_nextId++}";
        _initializers.Add(new ProtoMessage().Int64s(1, dims).Int64(2, (long)TensorType.Int64).String(8, name)
            .Bytes(9, MemoryMarshal.AsBytes(values.AsSpan()).ToArray()));
        return name;
    }

    /// <summary>Adds a float scalar constant with a fresh name.</summary>
    public string FloatScalar(float value) => Weight($"const_{_nextId++}", [value]);

    /// <summary>Adds a node with one output, named afresh unless <paramref name="output"/> is given.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params NodeAttribute[] attributes) =>
        NodeMulti(opType, inputs, [output ?? $"{opType.ToLowerInvariant()}_{_nextId++}"], attributes)[0];

    /// <summary>Adds a node with the given outputs.</summary>
    public string[] NodeMulti(string opType, string[] inputs, string[] outputs, params NodeAttribute[] attributes)
    {
        var node = new ProtoMessage();
        foreach (var input in inputs)
        {
            node.String(1, input);
        }

        foreach (var output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, $"n{_nextId++}_{opType}").String(4, opType);
        foreach (var attribute in attributes)
        {
            node.Message(5, attribute.ToProto());
        }

        _nodes.Add(node);
        return outputs;
    }

    /// <summary>Declares a graph input; each dimension is a fixed size (long) or a symbolic name (string).</summary>
    public void Input(string name, TensorType type, params object[] dims) => _inputs.Add(ValueInfo(name, type, dims));

    /// <summary>Declares a graph output.</summary>
    public void Output(string name, TensorType type, params object[] dims) => _outputs.Add(ValueInfo(name, type, dims));

    /// <summary>Adds an entry to the model's metadata (<c>metadata_props</c>), which ONNX Runtime reads back as custom metadata.</summary>
    public void Metadata(string key, string value) => _metadata.Add(new ProtoMessage().String(1, key).String(2, value));

    /// <summary>Writes the whole model as an ONNX protobuf file.</summary>
    public void WriteTo(Stream stream, string graphName)
    {
        var graph = new ProtoMessage();
        _nodes.ForEach(n => graph.Message(1, n));
        graph.String(2, graphName);
        _initializers.ForEach(t => graph.Message(5, t));
        _inputs.ForEach(i => graph.Message(11, i));
        _outputs.ForEach(o => graph.Message(12, o));

        var model = new ProtoMessage()
            .Int64(1, IrVersion)
            .String(2, "ModelMeter")
            .Message(7, graph)
            .Message(8, new ProtoMessage().String(1, "").Int64(2, Opset));
        _metadata.ForEach(entry => model.Message(14, entry));
        stream.Write(model.ToMemory().Span);
    }

    private static ProtoMessage ValueInfo(string name, TensorType type, object[] dims)
    {
        var shape = new ProtoMessage();
        foreach (var dim in dims)
        {
            shape.Message(1, dim switch
            {
                long size => new ProtoMessage().Int64(1, size),
                int size => new ProtoMessage().Int64(1, size),
                string symbol => new ProtoMessage().String(2, symbol),
                _ => throw new ArgumentException($"Dimension {dim} is neither a size nor a name."),
            });
        }

        var tensorType = new ProtoMessage().Int64(1, (long)type).Message(2, shape);
        return new ProtoMessage().String(1, name).Message(2, new ProtoMessage().Message(1, tensorType));
    }
}
