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
}
