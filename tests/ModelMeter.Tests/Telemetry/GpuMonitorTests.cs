using System.Runtime.InteropServices;
using ModelMeter.Telemetry;
using Prometheus;

namespace ModelMeter.Tests.Telemetry;

public sealed class GpuMonitorTests
{
    [Fact]
    public async Task Scrape_ConfiguredGpu_SeriesPresentExactlyWhenNvmlAnswers()
    {
        var registry = Metrics.NewCustomRegistry();
        var monitor = new GpuMonitor(new Dictionary<string, int> { ["gpu0"] = 0 }, registry);
        using var stream = new MemoryStream();

        await registry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        var nvmlPresent = NativeLibrary.TryLoad("libnvidia-ml.so.1", out var handle);
        if (nvmlPresent)
        {
            NativeLibrary.Free(handle);
            Assert.Equal(1, monitor.Available);
            Assert.Contains("gpu_utilization_percent{device=\"gpu0\"}", text);
        }
        else
        {
            Assert.Equal(0, monitor.Available);
            Assert.DoesNotContain("gpu_", text);
        }
    }

    [Fact]
    public void MemoryV2_StructVersion_IsNvmlsForItsFortyByteLayout()
    {
        // nvmlMemory_v2 = sizeof(nvmlMemory_v2_t) | 2 << 24: a uint version (padded to 8) and four unsigned long longs.
        Assert.Equal(40, Marshal.SizeOf<Nvml.MemoryV2>());
        Assert.Equal(0x02000028u, Nvml.MemoryV2.StructVersion);
    }
}
