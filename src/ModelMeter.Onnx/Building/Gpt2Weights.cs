namespace ModelMeter.Onnx.Building;

/// <summary>The weights of a GPT-2-style decoder, laid out as the ONNX graph uses them (matrices are [in, out]).</summary>
internal sealed class Gpt2Weights
{
    private Gpt2Weights(Gpt2Config config) => Config = config;

    public Gpt2Config Config { get; }

    /// <summary>Token embedding [vocabulary, width]; tied to the output projection.</summary>
    public float[] TokenEmbedding { get; private init; } = [];

    /// <summary>Position embedding [context, width].</summary>
    public float[] PositionEmbedding { get; private init; } = [];

    public Gpt2Layer[] Layers { get; private init; } = [];

    public float[] FinalNormScale { get; private init; } = [];

    public float[] FinalNormBias { get; private init; } = [];

    /// <summary>Seeded random weights: normal-ish with standard deviation 0.02 like GPT-2's initialisation, norms at identity.</summary>
    public static Gpt2Weights Random(Gpt2Config config, int seed)
    {
        var random = new Random(seed);
        var d = config.Width;
        return new Gpt2Weights(config)
        {
            TokenEmbedding = Noise(random, config.VocabularySize * d),
            PositionEmbedding = Noise(random, config.ContextLength * d),
            Layers = Enumerable.Range(0, config.Layers).Select(_ => Gpt2Layer.Random(random, d)).ToArray(),
            FinalNormScale = Fill(d, 1f),
            FinalNormBias = Noise(random, d),
        };
    }

    internal static float[] Noise(Random random, int count)
    {
        // A uniform draw with the standard deviation 0.02: cheap, and noise is all the demo needs.
        const float halfWidth = 0.02f * 1.7320508f;
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (random.NextSingle() * 2 - 1) * halfWidth;
        }

        return values;
    }

    internal static float[] Fill(int count, float value)
    {
        var values = new float[count];
        Array.Fill(values, value);
        return values;
    }
}
