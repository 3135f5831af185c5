namespace ModelMeter.Onnx.Building;

/// <summary>ONNX <c>TensorProto.DataType</c> values this project writes.</summary>
internal enum TensorType
{
    Float = 1,
    Int64 = 7,
    Bool = 9,
}
