using ModelMeter.AspNetCore.Catalog;

namespace ModelMeter.AspNetCore.Tests.Generation;

/// <summary>The model's admission gate: its token budget is the padded batch (rows × the longest), waiters keep their order.</summary>
public sealed class ModelGateTests
{
    [Fact]
    public async Task TokenBudget_IsThePaddedBatch_AShortRequestWaitsBesideALongOne_AndShortOnesShareIt()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 8, maxTokens: 100);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var longOne = await gate.TryEnterAsync(60, cancel.Token);
        var shortOne = gate.TryEnterAsync(15, cancel.Token).AsTask(); // 60 + 15 fit summed; padded, 2 × 60 = 120 do not

        Assert.NotNull(longOne);
        Assert.False(shortOne.IsCompleted);
        longOne.Dispose();
        using var first = await shortOne;
        using var second = await gate.TryEnterAsync(15, cancel.Token);
        using var third = await gate.TryEnterAsync(30, cancel.Token); // 3 × 30 = 90
        var fourth = gate.TryEnterAsync(30, cancel.Token).AsTask(); // 4 × 30 = 120

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotNull(third);
        Assert.False(fourth.IsCompleted);
        third!.Dispose(); // the longest leaves: 3 × 30 again
        using var fourthSlot = await fourth;
        Assert.NotNull(fourthSlot);
    }

    [Fact]
    public async Task ARequestLargerThanTheBudget_EntersWhenNothingElseRuns()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 8, maxTokens: 100);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var small = await gate.TryEnterAsync(10, cancel.Token);

        var huge = gate.TryEnterAsync(long.MaxValue, cancel.Token).AsTask();
        Assert.False(huge.IsCompleted);
        small!.Dispose();

        using var hugeSlot = await huge;
        Assert.NotNull(hugeSlot);
        Assert.False(gate.TryEnterAsync(1, cancel.Token).AsTask().IsCompleted); // 2 rows padded to the huge one never fit
    }
}
