namespace ModelMeter.Onnx.Building;

/// <summary>One transformer block: pre-norm attention and pre-norm MLP, matrices [in, out].</summary>
internal sealed class Gpt2Layer
{
    public required float[] Norm1Scale { get; init; }
    public required float[] Norm1Bias { get; init; }
    public required float[] Query { get; init; }
    public required float[] QueryBias { get; init; }
    public required float[] Key { get; init; }
    public required float[] KeyBias { get; init; }
    public required float[] Value { get; init; }
    public required float[] ValueBias { get; init; }
    public required float[] Projection { get; init; }
    public required float[] ProjectionBias { get; init; }
    public required float[] Norm2Scale { get; init; }
    public required float[] Norm2Bias { get; init; }
    /// <summary>[width, 4 × width].</summary>
    public required float[] Up { get; init; }
    public required float[] UpBias { get; init; }
    /// <summary>[4 × width, width].</summary>
    public required float[] Down { get; init; }
    public required float[] DownBias { get; init; }

    public static Gpt2Layer Random(Random random, int d) => new()
    {
        Norm1Scale = Gpt2Weights.Fill(d, 1f),
        Norm1Bias = Gpt2Weights.Noise(random, d),
        Query = Gpt2Weights.Noise(random, d * d),
        QueryBias = Gpt2Weights.Noise(random, d),
        Key = Gpt2Weights.Noise(random, d * d),
        KeyBias = Gpt2Weights.Noise(random, d),
        Value = Gpt2Weights.Noise(random, d * d),
        ValueBias = Gpt2Weights.Noise(random, d),
        Projection = Gpt2Weights.Noise(random, d * d),
        ProjectionBias = Gpt2Weights.Noise(random, d),
        Norm2Scale = Gpt2Weights.Fill(d, 1f),
        Norm2Bias = Gpt2Weights.Noise(random, d),
        Up = Gpt2Weights.Noise(random, d * 4 * d),
        UpBias = Gpt2Weights.Noise(random, 4 * d),
        Down = Gpt2Weights.Noise(random, 4 * d * d),
        DownBias = Gpt2Weights.Noise(random, d),
    };
}
