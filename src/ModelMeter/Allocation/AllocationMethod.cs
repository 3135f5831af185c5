namespace ModelMeter.Allocation;

/// <summary>How a device's cost is split among the requests that used it.</summary>
public enum AllocationMethod
{
    /// <summary>
    /// While k requests are in flight on a device each gets 1/k of its cost; time with none in flight is idle.
    /// Request costs plus idle add up to the bill. The default.
    /// </summary>
    SharedTime,

    /// <summary>
    /// Each request is charged its own latency times the device rate, as the classic setup did.
    /// Under concurrency the same second is charged several times, so the total exceeds the bill.
    /// </summary>
    Latency,
}
