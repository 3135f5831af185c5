using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

[Collection(SmallModelsCollection.Name)]
public sealed class OnnxBackendTests(SmallModels models)
{
    [Fact]
    public async Task GenerateAsync_Chunks_AddUpToTheWholeTextWithUsageOnTheLast()
    {
        using var backend = new OnnxBackend(OnnxCausalLm.Load(models.WithCache));
        var prompt = Prompt.FromText("Grüße, 日本 🚀: the bill");

        var chunks = await ToListAsync(backend.GenerateAsync(prompt, new GenerationRequest(16), default));
        var whole = backend.Model.Generate(backend.Model.Tokenize("Grüße, 日本 🚀: the bill"), new GenerationRequest(16), new NoSink(), default);

        Assert.Equal(whole.Text, string.Concat(chunks.Select(c => c.Text)));
        Assert.DoesNotContain(chunks, c => c.Text.Contains('\uFFFD'));
        Assert.Equal(new TokenUsage(backend.CountTokens(prompt), whole.OutputTokens), chunks[^1].Usage);
        Assert.Equal(whole.FinishReason, chunks[^1].FinishReason);
    }

    [Fact]
    public async Task GenerateAsync_StopString_EndsBeforeItAndNeverStreamsIt()
    {
        using var backend = new OnnxBackend(OnnxCausalLm.Load(models.WithCache));
        var prompt = Prompt.FromText("Once upon a time");
        var free = string.Concat((await ToListAsync(backend.GenerateAsync(prompt, new GenerationRequest(24), default))).Select(c => c.Text));
        var stop = free.Substring(free.Length / 2, 3);

        var chunks = await ToListAsync(backend.GenerateAsync(prompt, new GenerationRequest(24) { Stop = [stop, "never appears ¤¤"] }, default));

        var text = string.Concat(chunks.Select(c => c.Text));
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], text);
        Assert.Equal("stop", chunks[^1].FinishReason);
        Assert.DoesNotContain(stop, text);
    }

    [Fact]
    public void Render_ChatMessages_RoleLinesEndingWithAssistant()
    {
        var prompt = Prompt.FromMessages([new ChatMessage("system", "Be brief."), new ChatMessage("user", "Who ate the budget?")]);

        Assert.Equal("system: Be brief.\nuser: Who ate the budget?\nassistant:", OnnxBackend.Render(prompt));
    }

    private static async Task<List<GenerationChunk>> ToListAsync(IAsyncEnumerable<GenerationChunk> chunks)
    {
        var list = new List<GenerationChunk>();
        await foreach (var chunk in chunks)
        {
            list.Add(chunk);
        }

        return list;
    }

    private sealed class NoSink : ITokenSink
    {
        public void OnToken(int tokenId)
        {
        }
    }
}
