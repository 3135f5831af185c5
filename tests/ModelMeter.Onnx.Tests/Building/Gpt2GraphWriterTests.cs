using Microsoft.ML.OnnxRuntime;
using ModelMeter.Onnx.Building;

namespace ModelMeter.Onnx.Tests.Building;

public sealed class Gpt2GraphWriterTests
{
    private static readonly Gpt2Config Tiny = new(Layers: 2, Heads: 2, Width: 8, VocabularySize: 50, ContextLength: 16);
    private static readonly long[] Ids = [3, 41, 7, 7, 19];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Write_TinyConfig_LogitsEqualPlainComputation(bool withPast)
    {
        var weights = Gpt2Weights.Random(Tiny, seed: 7);
        using var stream = new MemoryStream();
        Gpt2GraphWriter.Write(weights, withPast, stream);
        using var session = new InferenceSession(stream.ToArray());

        var inputs = new Dictionary<string, OrtValue>
        {
            ["input_ids"] = OrtValue.CreateTensorValueFromMemory(Ids, [1, Ids.Length]),
            ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(Ids.Select(_ => 1L).ToArray(), [1, Ids.Length]),
            ["position_ids"] = OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, Ids.Length).Select(i => (long)i).ToArray(), [1, Ids.Length]),
        };
        if (withPast)
        {
            for (var i = 0; i < Tiny.Layers; i++)
            {
                inputs[$"past_key_values.{i}.key"] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, Tiny.Heads, 0, Tiny.HeadWidth]);
                inputs[$"past_key_values.{i}.value"] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, Tiny.Heads, 0, Tiny.HeadWidth]);
            }
        }

        using var outputs = session.Run(new RunOptions(), inputs, session.OutputNames);
        var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var expected = ReferenceGpt2.Logits(weights, Ids);

        // The last position only: the next token is all a caller reads (the graph projects no other position).
        Assert.Equal([1, 1, Tiny.VocabularySize], outputs[0].GetTensorTypeAndShape().Shape);
        for (var v = 0; v < Tiny.VocabularySize; v++)
        {
            Assert.Equal(expected[^1][v], logits[v], 4);
        }

        if (withPast)
        {
            Assert.Equal([1, Tiny.Heads, Ids.Length, Tiny.HeadWidth], outputs[1].GetTensorTypeAndShape().Shape);
        }

        foreach (var value in inputs.Values)
        {
            value.Dispose();
        }
    }

    [Fact]
    public void Write_WithPast_HasOptimumInputAndOutputNames()
    {
        using var stream = new MemoryStream();
        Gpt2GraphWriter.Write(Gpt2Weights.Random(Tiny, seed: 1), withPast: true, stream);
        using var session = new InferenceSession(stream.ToArray());

        Assert.Equal(
            ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key", "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"],
            session.InputNames);
        Assert.Equal(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"], session.OutputNames);
    }
}
