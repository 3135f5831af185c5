using ModelMeter.Onnx.Building;
using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests;

/// <summary>Two small GPT-2-vocabulary models with the same weights, one with a key/value cache and one without, written once per test run.</summary>
public sealed class SmallModels : IDisposable
{
    public static readonly Gpt2Config Config = new(Layers: 2, Heads: 2, Width: 16, ContextLength: 128);

    public SmallModels()
    {
        Root = Directory.CreateTempSubdirectory("modelmeter-onnx-tests-").FullName;
        DemoModels.EnsureWritten(Config, WithCache, withPast: true, seed: 3);
        DemoModels.EnsureWritten(Config, WithoutCache, withPast: false, seed: 3);
        DemoModels.EnsureWritten(Config with { ContextLength = 512 }, LongContext, withPast: true, seed: 3);
        DemoModels.EnsureWritten(Config with { ContextLength = 512 }, LongContextWholePresents, withPast: true, seed: 3, wholePresents: true);
    }

    public string Root { get; }

    public string WithCache => Path.Combine(Root, "with-cache");

    public string WithoutCache => Path.Combine(Root, "without-cache");

    /// <summary>The cached model with a 512-token context, for prompts of a few hundred tokens.</summary>
    public string LongContext => Path.Combine(Root, "long-context");

    /// <summary>
    /// The long-context model as an Optimum export has its presents (past and new positions concatenated, each step's
    /// presents the next step's past), where <see cref="LongContext"/>'s hold the new positions only.
    /// </summary>
    public string LongContextWholePresents => Path.Combine(Root, "long-context-whole-presents");

    /// <summary>The long-context model with either kind of presents.</summary>
    public string LongContextOf(bool wholePresents) => wholePresents ? LongContextWholePresents : LongContext;

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>A prompt of exactly <paramref name="tokens"/> token ids (ordinary word tokens, cycled).</summary>
    public static int[] Prompt(OnnxCausalLm model, int tokens)
    {
        var words = model.Tokenize(" where did the money go and who ate the budget this month");
        return Enumerable.Range(0, tokens).Select(i => words[i % words.Count]).ToArray();
    }
}

[CollectionDefinition(Name)]
public sealed class SmallModelsCollection : ICollectionFixture<SmallModels>
{
    public const string Name = "small models";
}
