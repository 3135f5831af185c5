using ModelMeter.Onnx.Generation;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The native buffers a decode step gathers rows' caches into: kept from step to step, grown when a batch needs more.</summary>
public sealed class GatherBuffersTests
{
    [Fact]
    public void Tensor_HasTheShape_AndAWritableSpanOfItsSize()
    {
        using var buffers = new GatherBuffers(2);
        using var value = buffers.Tensor(1, [2, 3, 4, 5]);

        Assert.Equal([2, 3, 4, 5], value.GetTensorTypeAndShape().Shape);
        var data = value.GetTensorMutableDataAsSpan<float>();
        Assert.Equal(120, data.Length);
        data.Fill(1.5f);
        Assert.All(value.GetTensorDataAsSpan<float>().ToArray(), x => Assert.Equal(1.5f, x));
    }

    [Fact]
    public void ASmallerBatchAfterALargerOne_UsesTheSameMemory()
    {
        using var buffers = new GatherBuffers(1);
        using (var large = buffers.Tensor(0, [4, 2, 8, 4]))
        {
            var data = large.GetTensorMutableDataAsSpan<float>();
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = i;
            }
        }

        using var small = buffers.Tensor(0, [1, 2, 8, 4]);

        Assert.Equal(Enumerable.Range(0, 64).Select(i => (float)i), small.GetTensorDataAsSpan<float>().ToArray());
    }

    [Fact]
    public void ALargerBatch_GetsABufferOfItsSize_AndEachTensorItsOwn()
    {
        using var buffers = new GatherBuffers(2);
        using (var first = buffers.Tensor(0, [1, 1, 1, 4]))
        {
            first.GetTensorMutableDataAsSpan<float>().Fill(7);
        }

        using var grown = buffers.Tensor(0, [16, 8, 100, 64]);
        using var other = buffers.Tensor(1, [1, 1, 1, 4]);
        var data = grown.GetTensorMutableDataAsSpan<float>();
        data.Fill(2);
        other.GetTensorMutableDataAsSpan<float>().Fill(3);

        Assert.Equal(16 * 8 * 100 * 64, data.Length);
        Assert.Equal(2, data[^1]);
        Assert.Equal(2, grown.GetTensorDataAsSpan<float>()[0]);
    }
}
