using System.Collections.Concurrent;
using ModelMeter.Allocation;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>Readings of shared devices' load taken here and not yet shipped to the fleet ledger (the shipper takes them with its rows).</summary>
internal sealed class DeviceLoadReadings
{
    /// <summary>The most readings kept while the fleet ledger cannot be reached (about an hour of one device at one a second); older ones are dropped.</summary>
    private const int Capacity = 4096;

    private readonly ConcurrentQueue<(string Device, LoadSample Sample)> _readings = new();

    public void Add(string device, LoadSample sample)
    {
        _readings.Enqueue((device, sample));
        while (_readings.Count > Capacity && _readings.TryDequeue(out _))
        {
        }
    }

    /// <summary>Takes every reading so far.</summary>
    public List<(string Device, LoadSample Sample)> Take()
    {
        var taken = new List<(string, LoadSample)>();
        while (_readings.TryDequeue(out var reading))
        {
            taken.Add(reading);
        }

        return taken;
    }

    /// <summary>Puts back readings a failed shipment took, ahead of newer ones.</summary>
    public void PutBack(List<(string Device, LoadSample Sample)> readings)
    {
        var newer = Take();
        foreach (var reading in readings.Concat(newer))
        {
            Add(reading.Device, reading.Sample);
        }
    }
}
