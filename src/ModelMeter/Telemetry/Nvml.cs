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

    /// <summary><c>nvmlMemory_v2_t</c>: <see cref="Used"/> leaves out what the driver reserves, as nvidia-smi shows it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MemoryV2
    {
        /// <summary>NVML's struct version: its size, with 2 in the top byte.</summary>
        public static readonly uint StructVersion = (uint)Marshal.SizeOf<MemoryV2>() | (2u << 24);

        public uint Version;
        public ulong Total;
        public ulong Reserved;
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

    /// <summary>Drivers from R510 on; older ones lack the entry point.</summary>
    [DllImport(Library, EntryPoint = "nvmlDeviceGetMemoryInfo_v2")]
    public static extern int MemoryInfoV2(IntPtr device, ref MemoryV2 memory);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    public static extern int UtilizationRates(IntPtr device, out Utilization utilization);

    [DllImport(Library, EntryPoint = "nvmlDeviceGetPowerUsage")]
    public static extern int PowerUsage(IntPtr device, out uint milliwatts);

    /// <summary>Millijoules since the driver was loaded (Volta and later; NVML_ERROR_NOT_SUPPORTED elsewhere).</summary>
    [DllImport(Library, EntryPoint = "nvmlDeviceGetTotalEnergyConsumption")]
    public static extern int TotalEnergyConsumption(IntPtr device, out ulong millijoules);
}
