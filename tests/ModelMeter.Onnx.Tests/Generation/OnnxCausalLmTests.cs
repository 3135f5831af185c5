using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

[Collection(SmallModelsCollection.Name)]
public sealed class OnnxCausalLmTests(SmallModels models)
{
    [Fact]
    public void Generate_WithAndWithoutCache_SameGreedyOutput()
    {
        using var cached = OnnxCausalLm.Load(models.WithCache);
        using var uncached = OnnxCausalLm.Load(models.WithoutCache);
        var prompt = cached.Tokenize("The bill arrived and nobody knew");

        var fast = cached.Generate(prompt, new GenerationRequest(24), new CountingSink(), default);
        var slow = uncached.Generate(prompt, new GenerationRequest(24), new CountingSink(), default);

        Assert.True(cached.UsesCache);
        Assert.False(uncached.UsesCache);
        Assert.Equal(slow.Text, fast.Text);
        Assert.Equal(slow.OutputTokens, fast.OutputTokens);
    }

    [Fact]
    public void Generate_MaxTokens_StopsThereAndReportsEachToken()
    {
        using var model = OnnxCausalLm.Load(models.WithCache);
        var sink = new CountingSink();

        var result = model.Generate(model.Tokenize("Hi"), new GenerationRequest(5), sink, default);

        Assert.Equal(5, result.OutputTokens);
        Assert.Equal(5, sink.Tokens.Count);
        Assert.Equal("length", result.FinishReason);
        Assert.Equal(128, model.ContextLength);
    }

    [Fact]
    public void Generate_SameSeed_SameSample_OtherSeed_OtherSample()
    {
        using var model = OnnxCausalLm.Load(models.WithCache);
        var prompt = model.Tokenize("Once upon a time");

        string Sample(int seed) => model.Generate(prompt, new GenerationRequest(20, Temperature: 1.5, TopP: 0.95, Seed: seed), new CountingSink(), default).Text;

        Assert.Equal(Sample(1), Sample(1));
        Assert.NotEqual(Sample(1), Sample(2));
    }

    [Fact]
    public void Generate_Cancelled_ThrowsAfterTheTokensMadeSoFar()
    {
        using var model = OnnxCausalLm.Load(models.WithCache);
        using var cancel = new CancellationTokenSource();
        var sink = new CountingSink(afterTokens: 3, then: cancel.Cancel);

        Assert.ThrowsAny<OperationCanceledException>(() => model.Generate(model.Tokenize("Hi"), new GenerationRequest(50), sink, cancel.Token));
        Assert.Equal(3, sink.Tokens.Count);
    }

    [Fact]
    public void Generate_EmptyPrompt_StartsFromEndOfText()
    {
        using var model = OnnxCausalLm.Load(models.WithCache);

        var result = model.Generate([], new GenerationRequest(3), new CountingSink(), default);

        Assert.Equal(3, result.OutputTokens);
    }

    private sealed class CountingSink(int afterTokens = int.MaxValue, Action? then = null) : ITokenSink
    {
        public List<int> Tokens { get; } = [];

        public void OnToken(int tokenId)
        {
            Tokens.Add(tokenId);
            if (Tokens.Count == afterTokens)
            {
                then?.Invoke();
            }
        }
    }
}
