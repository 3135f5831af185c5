using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The native memory appending caches live in: kept when freed and handed out again, within a limit.</summary>
public sealed class CacheMemoryTests
{
    [Fact]
    public void Rent_AfterABlockOfThatSizeCameBack_GetsTheSameMemory()
    {
        using var memory = new CacheMemory();
        var first = memory.Rent(4096);
        memory.Return(first);

        var second = memory.Rent(3000); // smaller: the kept block serves

        Assert.Equal(first, second);
        Assert.Equal(0, memory.FreeBytes);
        memory.Return(second);
    }

    [Fact]
    public void Rent_OnlyLargerBlocksKept_LendsTheSmallestWithinFourTimes()
    {
        using var memory = new CacheMemory();
        var (huge, large) = (memory.Rent(10_000), memory.Rent(3_000));
        memory.Return(huge);
        memory.Return(large);

        var small = memory.Rent(1_000); // three times smaller: its pages are touched already, where new ones are not

        Assert.Equal(large, small);
        Assert.Equal(10_000, memory.FreeBytes);
        memory.Return(small);
    }

    [Fact]
    public void Rent_OnlyBlocksOverFourTimesKept_GetsANewOne()
    {
        using var memory = new CacheMemory();
        var large = memory.Rent(10_000);
        memory.Return(large);

        var small = memory.Rent(2_000); // a cache never holds more than four times what it needs

        Assert.NotEqual(large.Pointer, small.Pointer);
        Assert.Equal(2_000, small.Bytes);
        Assert.Equal(10_000, memory.FreeBytes);
        memory.Return(small);
    }

    [Fact]
    public void Rent_NoKeptBlockLargeEnough_GetsANewOne()
    {
        using var memory = new CacheMemory();
        var small = memory.Rent(1_000);
        memory.Return(small);

        var large = memory.Rent(10_000);

        Assert.NotEqual(small.Pointer, large.Pointer);
        Assert.Equal(10_000, large.Bytes);
        Assert.Equal(1_000, memory.FreeBytes);
        memory.Return(large);
    }

    [Fact]
    public void Return_PastKeepBytes_FreesTheOldestKeptFirst()
    {
        using var memory = new CacheMemory(keepBytes: 2_500);
        var blocks = Enumerable.Range(0, 3).Select(_ => memory.Rent(1_000)).ToList();
        blocks.ForEach(memory.Return);

        Assert.Equal(2_000, memory.FreeBytes);
        var again = new[] { memory.Rent(1_000), memory.Rent(1_000) };
        Assert.Equal([blocks[1], blocks[2]], again); // the first one returned was freed
        Assert.Equal(0, memory.FreeBytes);
        Array.ForEach(again, memory.Return);
    }
}
