namespace ModelMeter.Onnx.Building;

/// <summary>The shape of a GPT-2-style decoder: layers, heads, width, vocabulary and context length.</summary>
public sealed record Gpt2Config(int Layers, int Heads, int Width, int VocabularySize = Gpt2Config.Gpt2Vocabulary, int ContextLength = 1024)
{
    /// <summary>GPT-2's vocabulary size, end-of-text included.</summary>
    public const int Gpt2Vocabulary = 50257;

    /// <summary>Width of one attention head.</summary>
    public int HeadWidth => Width / Heads;

    /// <summary>Parameters, counting the tied embedding once.</summary>
    public long Parameters =>
        (long)VocabularySize * Width + (long)ContextLength * Width + 2L * Width
        + Layers * (12L * Width * Width + 13L * Width);
}
