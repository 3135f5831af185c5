using System.Runtime.InteropServices;

namespace ModelMeter.Telemetry;

/// <summary>The few NVML calls ModelMeter reads (libnvidia-ml ships with the NVIDIA driver). Return value 0 is success.</summary>
internal static class Nvml
{
    private const string Library = "libnvidia-ml.so.1";

    [StructLayout(LayoutKind.Sequential)]
    public struct Memory
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Utilization
    {
        public uint Gpu;
        public uint Memory;
    }

    [DllImport(Library, EntryPoint = "nvmlInit_v2")]
    public static extern int Init();

    [DllImport(Library, EntryPoint = "nvmlDeviceGetCount_v2")]
    public static extern int DeviceCount(out uint count);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    public static extern int DeviceHandle(uint index, out IntPtr device);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    public static extern int MemoryInfo(IntPtr device, out Memory memory);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    public static extern int UtilizationRates(IntPtr device, out Utilization utilization);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetPowerUsage")]
    public static extern int PowerUsage(IntPtr device, out uint milliwatts);
}
