namespace ModelMeter.Allocation;

/// <summary>One request's time on a shared device, as the fleet ledger holds it (the clock of the replica that served it).</summary>
/// <param name="Node">The replica that served it.</param>
/// <param name="RequestId">Its id there.</param>
/// <param name="StartMs">When it started on the device, Unix milliseconds.</param>
/// <param name="EndMs">When it ended, Unix milliseconds.</param>
public readonly record struct DeviceSpan(string Node, string RequestId, long StartMs, long EndMs);
