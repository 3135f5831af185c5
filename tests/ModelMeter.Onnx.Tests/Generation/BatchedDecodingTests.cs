using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>Rows of different lengths decoded together give, token for token, what each gives alone.</summary>
[Collection(SmallModelsCollection.Name)]
public sealed class BatchedDecodingTests(SmallModels models)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DecodeStep_PromptsOf1And7And300Tokens_SameGreedyTokensAsAlone(bool wholePresents)
    {
        using var model = OnnxCausalLm.Load(models.LongContextOf(wholePresents));
        Assert.Equal(!wholePresents, model.AppendsPresents);
        var prompts = new[] { SmallModels.Prompt(model, 1), SmallModels.Prompt(model, 7), SmallModels.Prompt(model, 300) };
        var request = new GenerationRequest(12);
        var alone = prompts.Select(p => model.GenerateTokens(p, request, default).ToList()).ToList();

        var rows = prompts.Select(p => model.StartRow(p, request)).ToList();
        try
        {
            while (rows.Any(r => !r.Finished))
            {
                model.DecodeStep(rows.Where(r => !r.Finished).ToList());
            }

            for (var i = 0; i < prompts.Length; i++)
            {
                Assert.Equal(alone[i], rows[i].Generated);
            }
        }
        finally
        {
            rows.ForEach(r => r.Dispose());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DecodeStep_RowsJoiningAndLeavingBetweenSteps_EachStillMatchesItsOwnRun(bool wholePresents)
    {
        using var model = OnnxCausalLm.Load(models.LongContextOf(wholePresents));
        var shortRequest = new GenerationRequest(3);
        var longRequest = new GenerationRequest(10);
        var first = SmallModels.Prompt(model, 5);
        var late = SmallModels.Prompt(model, 40);
        var expectedFirst = model.GenerateTokens(first, longRequest, default).ToList();
        var expectedShort = model.GenerateTokens(first, shortRequest, default).ToList();
        var expectedLate = model.GenerateTokens(late, longRequest, default).ToList();

        using var a = model.StartRow(first, longRequest);
        using var b = model.StartRow(first, shortRequest); // leaves after 3 tokens
        model.DecodeStep([a, b]);
        model.DecodeStep([a, b]);
        using var c = model.StartRow(late, longRequest); // joins mid-way, with a longer cache than the others
        while (!a.Finished || !c.Finished)
        {
            model.DecodeStep(new[] { a, b, c }.Where(r => !r.Finished).ToList());
        }

        Assert.Equal(expectedFirst, a.Generated);
        Assert.Equal(expectedShort, b.Generated);
        Assert.Equal("length", b.FinishReason);
        Assert.Equal(expectedLate, c.Generated);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(1.1, false)]
    [InlineData(0.0, true)]
    public void PrefillChunk_APromptIn7TokenChunks_SameTokensAsOnePrefill(double temperature, bool wholePresents)
    {
        using var model = OnnxCausalLm.Load(models.LongContextOf(wholePresents));
        var prompt = SmallModels.Prompt(model, 300);
        var request = new GenerationRequest(12, Temperature: temperature, Seed: 5);
        using var whole = model.StartRow(prompt, request);
        using var chunked = model.BeginRow(prompt, request);

        var chunks = 0;
        while (chunked.Prefilling)
        {
            Assert.Empty(chunked.Generated); // no token before the prompt is done (nor a draw from the seeded sampler)
            Assert.Equal(Math.Min(7, chunked.PromptLeft), model.PrefillChunk(chunked, 7));
            chunks++;
        }

        Assert.Equal(43, chunks); // ceil(300 / 7)
        while (!whole.Finished || !chunked.Finished)
        {
            model.DecodeStep(new[] { whole, chunked }.Where(r => !r.Finished).ToList());
        }

        Assert.Equal(whole.Generated, chunked.Generated);
        Assert.Equal(model.GenerateTokens(prompt, request, default), chunked.Generated);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PrefillTogether_PromptsOf5And9And30Tokens_OnePass_EachThenDecodesItsOwnGreedyTokens(bool wholePresents)
    {
        using var model = OnnxCausalLm.Load(models.LongContextOf(wholePresents));
        var request = new GenerationRequest(10);
        var prompts = new[] { SmallModels.Prompt(model, 5), SmallModels.Prompt(model, 9), SmallModels.Prompt(model, 30) };
        var rows = prompts.Select(p => model.BeginRow(p, request)).ToList();

        model.PrefillTogether(rows);

        Assert.All(rows, r => Assert.False(r.Prefilling));
        while (rows.Any(r => !r.Finished))
        {
            model.DecodeSteps(rows.Where(r => !r.Finished).ToList());
        }

        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(model.GenerateTokens(prompts[i], request, default), rows[i].Generated);
            rows[i].Dispose();
        }
    }

    [Fact]
    public void DecodeStep_SeededSampling_ReproduciblePerRowInABatch()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var seeded = new GenerationRequest(8, Temperature: 1.2, TopP: 0.95, Seed: 42);
        var prompt = SmallModels.Prompt(model, 9);
        var alone = model.GenerateTokens(prompt, seeded, default).ToList();

        using var row = model.StartRow(prompt, seeded);
        using var other = model.StartRow(SmallModels.Prompt(model, 30), new GenerationRequest(8, Temperature: 1.2, Seed: 7));
        while (!row.Finished)
        {
            model.DecodeStep(new[] { row, other }.Where(r => !r.Finished).ToList());
        }

        Assert.Equal(alone, row.Generated);
    }

    [Fact]
    public void DecodeStep_RowsDecodingPastTheRoomOfTheirCaches_JoiningAndLeaving_EachStillMatchesItsOwnRun()
    {
        // 100 tokens each: the shared cache runs out of room (a gathered batch has 32 free positions, or a quarter of its
        // longest row) several times and is copied into a larger one; the rows alone grow theirs the same way.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (longRequest, shortRequest) = (new GenerationRequest(100), new GenerationRequest(45));
        var prompts = new[] { SmallModels.Prompt(model, 3), SmallModels.Prompt(model, 150), SmallModels.Prompt(model, 20) };
        var expected = new[]
        {
            model.GenerateTokens(prompts[0], longRequest, default).ToList(),
            model.GenerateTokens(prompts[1], shortRequest, default).ToList(),
            model.GenerateTokens(prompts[2], longRequest, default).ToList(),
        };

        using var a = model.StartRow(prompts[0], longRequest);
        using var b = model.StartRow(prompts[1], shortRequest); // leaves after 45 tokens
        using var c = model.StartRow(prompts[2], longRequest); // joins after 40 steps, leaving a shared cache with room
        for (var step = 0; step < 40; step++)
        {
            model.DecodeStep([a, b]);
        }

        while (!a.Finished || !c.Finished)
        {
            model.DecodeStep(new[] { a, b, c }.Where(r => !r.Finished).ToList());
        }

        Assert.Equal(expected[0], a.Generated);
        Assert.Equal(expected[1], b.Generated);
        Assert.Equal(expected[2], c.Generated);
        Assert.Equal("length", a.FinishReason); // all 100 tokens: past the room of every cache it was in
    }
}
