using ModelMeter.Energy;

namespace ModelMeter.Telemetry;

/// <summary>A GPU's energy from NVML: its energy counter, or its power integrated where the counter is unsupported.</summary>
public static class NvmlEnergy
{
    /// <summary>The energy source of the GPU at NVML index <paramref name="gpuIndex"/>; null where NVML or the GPU does not answer.</summary>
    public static IEnergySource? Open(int gpuIndex)
    {
        try
        {
            if (gpuIndex < 0 || Nvml.Init() != 0 || Nvml.DeviceCount(out var count) != 0 || gpuIndex >= count
                || Nvml.DeviceHandle((uint)gpuIndex, out var handle) != 0)
            {
                return null;
            }

            var hasCounter = true;
            return new CounterEnergy(
                () =>
                {
                    if (!hasCounter)
                    {
                        return null;
                    }

                    try
                    {
                        return Nvml.TotalEnergyConsumption(handle, out var millijoules) == 0 ? millijoules : null;
                    }
                    catch (EntryPointNotFoundException)
                    {
                        hasCounter = false; // a driver older than the call
                        return null;
                    }
                },
                () => Nvml.PowerUsage(handle, out var milliwatts) == 0 ? milliwatts : null);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
