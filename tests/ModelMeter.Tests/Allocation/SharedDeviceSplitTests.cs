using ModelMeter.Allocation;

namespace ModelMeter.Tests.Allocation;

public sealed class SharedDeviceSplitTests
{
    private const long Minute = 60_000;
    private const double HourlyUsd = 36; // 0.01 USD a second

    [Fact]
    public void Split_TwoReplicasRequestsOverlappingTheWholeMinute_EachPaysHalf_NoIdle()
    {
        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", -5_000, 70_000), new("b", "1", 0, Minute)], []);

        Assert.Equal(0.6, split.BillUsd, 12);
        Assert.Equal(0.3, split.Requests[("a", "1")], 12);
        Assert.Equal(0.3, split.Requests[("b", "1")], 12);
        Assert.Equal(0, split.IdleUsd, 12);
        Assert.Equal(0, split.UnmeteredUsd, 12);
    }

    [Fact]
    public void Split_OneRequestForHalfTheMinute_PaysItsHalf_RestIsIdleOnce()
    {
        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", 10_000, 40_000)], []);

        Assert.Equal(0.3, split.Requests[("a", "1")], 12);
        Assert.Equal(0.3, split.IdleUsd, 12);
    }

    [Fact]
    public void Split_StaggeredAcrossReplicas_SharesFollowTheFleetsConcurrency()
    {
        // 0-20 s: a1 alone; 20-40 s: a1 and b1; 40-60 s: b1 alone.
        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", 0, 40_000), new("b", "1", 20_000, Minute)], []);

        Assert.Equal(0.2 + 0.1, split.Requests[("a", "1")], 12);
        Assert.Equal(0.1 + 0.2, split.Requests[("b", "1")], 12);
    }

    [Fact]
    public void Split_ServerRunsMoreThanTheFleet_ExcessIsUnmeteredAndSharesLikeARequest()
    {
        // The server reports 3 running every second; the fleet has 1 in flight: 2 unmetered share with it.
        var readings = Enumerable.Range(0, 60).Select(s => new LoadSample(s * 1_000L, 3)).ToList();

        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", 0, Minute)], readings);

        Assert.Equal(0.2, split.Requests[("a", "1")], 12);
        Assert.Equal(0.4, split.UnmeteredUsd, 12);
        Assert.Equal(0, split.IdleUsd, 12);
    }

    [Fact]
    public void Split_ServerRunsWhatTheFleetRuns_NothingUnmetered()
    {
        var readings = Enumerable.Range(0, 60).Select(s => new LoadSample(s * 1_000L, s < 30 ? 1 : 0)).ToList();

        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", 0, 30_000)], readings);

        Assert.Equal(0, split.UnmeteredUsd, 12);
        Assert.Equal(0.3, split.Requests[("a", "1")], 12);
        Assert.Equal(0.3, split.IdleUsd, 12);
    }

    [Fact]
    public void Split_ReadingsStop_TheLastOneHoldsTwoSecondsThenNothingIsUnmetered()
    {
        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [], [new LoadSample(10_000, 1)]);

        Assert.Equal(0.02, split.UnmeteredUsd, 12); // 10-12 s
        Assert.Equal(0.58, split.IdleUsd, 12);
    }

    [Fact]
    public void Split_ReadingFromBeforeTheWindow_HoldsIntoItUntilStale()
    {
        var split = SharedDeviceSplit.Split(60_000, 120_000, HourlyUsd, [], [new LoadSample(59_500, 2)]);

        Assert.Equal(0.015, split.UnmeteredUsd, 12); // 60-61.5 s
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Split_RandomFleetAndLoad_RequestsIdleAndUnmeteredAddUpToTheBill_WhateverTheOrder(int seed)
    {
        var random = new Random(seed);
        var spans = Enumerable.Range(0, 300).Select(i =>
        {
            var start = random.NextInt64(-30_000, Minute);
            return new DeviceSpan($"node-{i % 4}", $"r{i}", start, start + random.NextInt64(0, 20_000));
        }).ToList();
        var readings = Enumerable.Range(0, 50).Select(_ => new LoadSample(random.NextInt64(-3_000, Minute), random.Next(0, 40))).ToList();

        var split = SharedDeviceSplit.Split(0, Minute, 2.5, spans, readings);
        var shuffled = SharedDeviceSplit.Split(0, Minute, 2.5, [.. spans.OrderBy(_ => random.Next())], [.. readings.OrderBy(_ => random.Next())]);

        Assert.Equal(split.BillUsd, split.Requests.Values.Sum() + split.IdleUsd + split.UnmeteredUsd, 12);
        Assert.All(split.Requests.Values, usd => Assert.True(usd >= 0));
        Assert.True(split.UnmeteredUsd > 0);
        Assert.Equal(split.IdleUsd, shuffled.IdleUsd, 12);
        Assert.All(split.Requests, r => Assert.Equal(r.Value, shuffled.Requests[r.Key], 12));
    }

    [Fact]
    public void Split_OneReplicasClockSkewed300Ms_StillAddsUpToTheBill_OnlyTheSplitMoves()
    {
        var spans = new List<DeviceSpan> { new("a", "1", 5_000, 35_000), new("b", "1", 20_000, 55_000) };
        var skewed = spans.Select(s => s.Node == "b" ? s with { StartMs = s.StartMs + 300, EndMs = s.EndMs + 300 } : s).ToList();

        var exact = SharedDeviceSplit.Split(0, Minute, HourlyUsd, spans, []);
        var off = SharedDeviceSplit.Split(0, Minute, HourlyUsd, skewed, []);

        Assert.Equal(off.BillUsd, off.Requests.Values.Sum() + off.IdleUsd, 12);
        Assert.InRange(Math.Abs(off.Requests[("b", "1")] - exact.Requests[("b", "1")]), 0, 0.003 + 1e-12); // at most 300 ms of the rate
    }

    [Theory]
    [InlineData(1e308)]
    [InlineData(double.MaxValue)]
    public void Split_HugeReadingOverALongWindow_AlmostAllUnmetered_StillAddsUpToTheBill(double running)
    {
        // An hour at $36: the cost of one stretch times the reading would overflow; its fraction cannot.
        const long hour = 3_600_000;
        var split = SharedDeviceSplit.Split(0, hour, HourlyUsd, [new("a", "1", 0, hour)], [new LoadSample(0, running)], sampleValidMs: hour);

        Assert.Equal(36, split.BillUsd, 9);
        Assert.Equal(36, split.UnmeteredUsd, 9);
        Assert.InRange(split.Requests[("a", "1")], 0, 1e-9);
        Assert.Equal(split.BillUsd, split.Requests.Values.Sum() + split.IdleUsd + split.UnmeteredUsd, 9);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Split_ReadingThatIsNotACount_StandsForNothing(double running)
    {
        var split = SharedDeviceSplit.Split(0, Minute, HourlyUsd, [new("a", "1", 0, 30_000)], [new LoadSample(0, running)]);

        Assert.Equal(0.3, split.Requests[("a", "1")], 12);
        Assert.Equal(0.3, split.IdleUsd, 12);
        Assert.Equal(0, split.UnmeteredUsd);
    }

    [Fact]
    public void Split_NothingRan_TheWholeBillIsIdle() =>
        Assert.Equal(0.6, SharedDeviceSplit.Split(0, Minute, HourlyUsd, [], []).IdleUsd, 12);
}
