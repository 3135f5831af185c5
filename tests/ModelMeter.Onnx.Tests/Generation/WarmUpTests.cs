using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The work a model does at load: a long prompt in chunks beside a decoding row. It leaves nothing behind.</summary>
[Collection(SmallModelsCollection.Name)]
public sealed class WarmUpTests(SmallModels models)
{
    [Fact]
    public void WarmUp_ThenRequests_SameGreedyTokensAsACold()
    {
        using var cold = OnnxCausalLm.Load(models.LongContext);
        var prompt = SmallModels.Prompt(cold, 40);
        var request = new GenerationRequest(10);
        var alone = cold.GenerateTokens(prompt, request, default).ToList();
        using var warm = OnnxCausalLm.Load(models.LongContext);

        Assert.Equal(300, warm.WarmUp(300, 24));

        Assert.Equal(alone, warm.GenerateTokens(prompt, request, default));
        using var row = warm.StartRow(prompt, request);
        using var other = warm.StartRow(SmallModels.Prompt(warm, 7), request);
        while (!row.Finished)
        {
            warm.DecodeSteps([.. new[] { row, other }.Where(r => !r.Finished)]);
        }

        Assert.Equal(alone, row.Generated);
    }

    [Fact]
    public void WarmUp_ThenALongPromptInChunksBesideSixStreams_TakesNoNewCacheMemory()
    {
        // New memory is touched for the first time inside a turn (about 1 ms per MB on a VM): a warmed-up model grows the
        // first long prompt's cache, chunk by chunk beside the streams' steps, in the memory its warm-up kept, so the
        // streams' first run keeps its pace.
        using var model = OnnxCausalLm.Load(models.LongContext);
        model.WarmUp(1024, 24); // as a server does: the context less 8
        var streams = Enumerable.Range(0, 6).Select(i => model.StartRow(SmallModels.Prompt(model, 8 + i), new GenerationRequest(48))).ToList();
        for (var step = 0; step < 3; step++)
        {
            model.DecodeSteps(streams); // the streams have begun when the long prompt comes (bench/load/stall.py)
        }

        var allocated = model.CacheMemory.Allocated;
        using var joining = model.BeginRow(SmallModels.Prompt(model, 450), new GenerationRequest(8));
        while (joining.Prefilling)
        {
            model.PrefillChunk(joining, 24);
            model.DecodeSteps([.. streams.Where(r => !r.Finished)]);
        }

        streams.ForEach(r => r.Dispose());
        Assert.True(allocated > 0);
        Assert.Equal(allocated, model.CacheMemory.Allocated);
    }

    [Fact]
    public void WarmUp_LongerThanTheContext_ComputesTheContextLessEight()
    {
        using var model = OnnxCausalLm.Load(models.WithCache);

        Assert.Equal(model.ContextLength - 8, model.WarmUp(1_000_000, 24));
    }

    [Fact]
    public void WarmUp_WithoutACache_OneShortGeneration()
    {
        using var model = OnnxCausalLm.Load(models.WithoutCache);

        Assert.Equal(8, model.WarmUp(1024, 24));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.WarmUp(1024, 0));
    }
}
