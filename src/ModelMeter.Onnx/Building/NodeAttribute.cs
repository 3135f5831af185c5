using ModelMeter.Onnx.Protobuf;

namespace ModelMeter.Onnx.Building;

/// <summary>An ONNX node attribute: an int, a float or a list of ints.</summary>
internal readonly record struct NodeAttribute(string Name, long? Int = null, float? Float = null, long[]? Ints = null)
{
    // AttributeProto.AttributeType: FLOAT = 1, INT = 2, INTS = 7.
    public ProtoMessage ToProto()
    {
        var proto = new ProtoMessage().String(1, Name);
        if (Float is { } f)
        {
            return proto.Float(2, f).Int64(20, 1);
        }

        if (Int is { } i)
        {
            return proto.Int64(3, i).Int64(20, 2);
        }

        return proto.Int64s(8, Ints ?? []).Int64(20, 7);
    }

    public static NodeAttribute Of(string name, long value) => new(name, Int: value);

    public static NodeAttribute Of(string name, float value) => new(name, Float: value);

    public static NodeAttribute Of(string name, params long[] values) => new(name, Ints: values);
}
