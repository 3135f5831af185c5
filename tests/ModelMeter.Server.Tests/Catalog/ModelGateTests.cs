using ModelMeter.AspNetCore.Catalog;

namespace ModelMeter.Server.Tests.Catalog;

/// <summary>The model's admission gate: rows and tokens of cache, arrival order, a bounded queue.</summary>
public sealed class ModelGateTests
{
    [Fact]
    public async Task TokensOfCache_ASecondRequestThatWouldExceedThemWaitsUntilTheFirstLeaves()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 4, maxTokens: 130);
        var first = await gate.TryEnterAsync(60, default);
        var second = gate.TryEnterAsync(80, default).AsTask(); // padded to 80, two rows hold 160
        var small = gate.TryEnterAsync(10, default).AsTask(); // would fit (2 × 60), but arrived after the waiting one

        Assert.NotNull(first);
        Assert.False(second.IsCompleted);
        Assert.False(small.IsCompleted);

        first.Dispose();
        var secondSlot = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(secondSlot);
        Assert.False(small.IsCompleted); // beside the 80, padded: 2 × 80 = 160
        secondSlot.Dispose();
        Assert.NotNull(await small.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TokensOfCache_AreThePaddedBatch_AShortRequestWaitsBesideALongOne_AndShortOnesShareIt()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 8, maxTokens: 100);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var longOne = await gate.TryEnterAsync(60, cancel.Token);
        var shortOne = gate.TryEnterAsync(15, cancel.Token).AsTask(); // 60 + 15 fit summed; padded, 2 × 60 = 120 do not

        Assert.NotNull(longOne);
        Assert.False(shortOne.IsCompleted);
        longOne.Dispose();
        using var first = await shortOne.WaitAsync(cancel.Token);
        using var second = await gate.TryEnterAsync(15, cancel.Token);
        using var third = await gate.TryEnterAsync(30, cancel.Token); // 3 × 30 = 90
        var fourth = gate.TryEnterAsync(30, cancel.Token).AsTask(); // 4 × 30 = 120

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotNull(third);
        Assert.False(fourth.IsCompleted);
        third!.Dispose(); // the longest leaves: 3 × 30 again
        using var fourthSlot = await fourth.WaitAsync(cancel.Token);
        Assert.NotNull(fourthSlot);
    }

    [Fact]
    public async Task ARequestLargerThanTheTokens_EntersWhenNothingElseRuns()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 4, maxTokens: 100);
        var running = await gate.TryEnterAsync(1, default);
        var huge = gate.TryEnterAsync(5_000, default).AsTask();
        Assert.False(huge.IsCompleted);

        running!.Dispose();
        var alone = await huge.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(alone);
        var next = gate.TryEnterAsync(1, default).AsTask();
        Assert.False(next.IsCompleted); // the huge one takes the whole budget

        alone.Dispose();
        Assert.NotNull(await next.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Rows_NoMoreThanMaxConcurrencyRunAndTheQueueIsBounded()
    {
        var gate = new ModelGate(maxConcurrency: 2, maxQueue: 1);
        var a = await gate.TryEnterAsync(1, default);
        var b = await gate.TryEnterAsync(1, default);
        var waiting = gate.TryEnterAsync(1, default).AsTask();

        Assert.Null(await gate.TryEnterAsync(1, default)); // queue full: refused at once
        Assert.False(waiting.IsCompleted);
        a!.Dispose();
        a.Dispose(); // twice gives back one turn
        Assert.NotNull(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        var another = gate.TryEnterAsync(1, default).AsTask();
        Assert.False(another.IsCompleted);
        b!.Dispose();
        Assert.NotNull(await another.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AWaiterWhoLeaves_ThrowsAndLetsThoseBehindItIn()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 4, maxTokens: 100);
        var running = await gate.TryEnterAsync(50, default);
        using var leave = new CancellationTokenSource();
        var large = gate.TryEnterAsync(80, leave.Token).AsTask();
        var small = gate.TryEnterAsync(40, default).AsTask();
        Assert.False(small.IsCompleted); // behind the large one

        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => large);
        Assert.NotNull(await small.WaitAsync(TimeSpan.FromSeconds(10)));
        running!.Dispose();
    }
}
