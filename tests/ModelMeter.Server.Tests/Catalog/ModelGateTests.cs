using ModelMeter.AspNetCore.Catalog;

namespace ModelMeter.Server.Tests.Catalog;

/// <summary>The model's admission gate: rows and tokens of cache, arrival order, a bounded queue.</summary>
public sealed class ModelGateTests
{
    [Fact]
    public async Task TokensOfCache_ASecondRequestThatWouldExceedThemWaitsUntilTheFirstLeaves()
    {
        var gate = new ModelGate(maxConcurrency: 8, maxQueue: 4, maxTokens: 100);
        var first = await gate.TryEnterAsync(60, default);
        var second = gate.TryEnterAsync(60, default).AsTask();
        var small = gate.TryEnterAsync(10, default).AsTask(); // would fit, but arrived after the waiting one

        Assert.NotNull(first);
        Assert.False(second.IsCompleted);
        Assert.False(small.IsCompleted);

        first.Dispose();
        Assert.NotNull(await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.NotNull(await small.WaitAsync(TimeSpan.FromSeconds(10))); // 60 + 10 fit
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
