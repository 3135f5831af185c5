using Google.Protobuf;

namespace ModelMeter.Onnx.Protobuf;

/// <summary>
/// Writes one protobuf message field by field. Nested messages are written into their own buffer
/// first, since a length-delimited field needs its length before its bytes.
/// </summary>
internal sealed class ProtoMessage
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _output;

    public ProtoMessage() => _output = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoMessage Int64(int field, long value)
    {
        _output.WriteTag(field, WireFormat.WireType.Varint);
        _output.WriteInt64(value);
        return this;
    }

    public ProtoMessage Int64s(int field, IEnumerable<long> values)
    {
        foreach (var value in values)
        {
            Int64(field, value);
        }

        return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        _output.WriteTag(field, WireFormat.WireType.Fixed32);
        _output.WriteFloat(value);
        return this;
    }

    public ProtoMessage String(int field, string value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteString(value);
        return this;
    }

    public ProtoMessage Bytes(int field, ReadOnlyMemory<byte> value)
    {
        _output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _output.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        return this;
    }

    public ProtoMessage Message(int field, ProtoMessage message) => Bytes(field, message.ToMemory());

    public ReadOnlyMemory<byte> ToMemory()
    {
        _output.Flush();
        return _buffer.GetBuffer().AsMemory(0, (int)_buffer.Length);
    }
}
