using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>How a decode step cuts its rows, and a turn the prompts it computes together, into forward passes: the least passes plus padding, weighed over every cut.</summary>
public sealed class PlanPassesTests
{
    // demo-large: 256 MB of weights a pass; 12 layers × key and value × 8 heads × 64 floats = 48 KiB of cache a position, three times.
    private const long Pass = 256_392_104;
    private const long Padding = 49_152 * 3;

    [Fact]
    public void ALongPromptBesideSixShortStreams_DecodesAloneAndTheStreamsStayOnePass()
    {
        // Row by row, the long row took the two longest streams into its pass (1,690 positions of padding, under one
        // pass's cost) and the other four still needed a pass of their own: two passes and the padding as well.
        var runs = OnnxCausalLm.PlanPasses([899, 56, 55, 54, 53, 52, 51], Pass, Padding);

        Assert.Equal([1, 6], runs);
    }

    [Fact]
    public void LikeLengths_OnePass()
    {
        Assert.Equal([5], OnnxCausalLm.PlanPasses([60, 58, 57, 50, 41], Pass, Padding));
    }

    [Fact]
    public void TwoClustersOfLengths_OnePassEach()
    {
        Assert.Equal([3, 3], OnnxCausalLm.PlanPasses([900, 880, 870, 60, 50, 40], Pass, Padding));
    }

    [Fact]
    public void PaddingThatCostsLessThanAPass_OnePass()
    {
        // Two rows 1,000 positions apart: 1,000 × 144 KiB is 147 MB, less than a 256 MB read of the weights.
        Assert.Equal([2], OnnxCausalLm.PlanPasses([1_010, 10], Pass, Padding));
        Assert.Equal([1, 1], OnnxCausalLm.PlanPasses([2_010, 10], Pass, Padding));
    }

    [Fact]
    public void FreePasses_OnlyEqualLengthsShare()
    {
        Assert.Equal([2, 1, 3], OnnxCausalLm.PlanPasses([9, 9, 5, 3, 3, 3], 0, 1));
    }

    [Fact]
    public void OneRow_OnePass_AndNoRows_NoPass()
    {
        Assert.Equal([1], OnnxCausalLm.PlanPasses([7], Pass, Padding));
        Assert.Empty(OnnxCausalLm.PlanPasses([], Pass, Padding));
    }

    [Fact]
    public void AWaveOfPromptsOfFourLengths_FourPassesWithoutPadding()
    {
        // 16 clients' prompts of 4, 16, 48 and 96 tokens, four of each: merging any two lengths pads more than a pass costs.
        var runs = OnnxCausalLm.PlanPasses([96, 96, 96, 96, 48, 48, 48, 48, 16, 16, 16, 16, 4, 4, 4, 4], BatchScheduler.PrefillPassTokens, 1);

        Assert.Equal([4, 4, 4, 4], runs);
    }

    [Fact]
    public void PromptsOfNearLengths_OnePassWithTheirLittlePadding()
    {
        Assert.Equal([5], OnnxCausalLm.PlanPasses([40, 39, 37, 36, 34], BatchScheduler.PrefillPassTokens, 1));
    }

    [Fact]
    public void ARunHoldsAtMostTheTurnsTokens_ARowAloneMayHoldMore()
    {
        // Together the three are one pass; within 24 tokens a turn, two of them are one pass and the third runs alone.
        Assert.Equal([3], OnnxCausalLm.PlanPasses([12, 11, 10], BatchScheduler.PrefillPassTokens, 1));
        Assert.Equal([1, 2], OnnxCausalLm.PlanPasses([12, 11, 10], BatchScheduler.PrefillPassTokens, 1, maxRunLength: 24));
        Assert.Equal([1], OnnxCausalLm.PlanPasses([30], BatchScheduler.PrefillPassTokens, 1, maxRunLength: 24));
    }
}
