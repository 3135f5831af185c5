namespace ModelMeter.Allocation;

/// <summary>
/// The requests of one model on a device, as one part of the device's work split (<see cref="DeviceAllocator"/>):
/// a group's members share its part equally. Unmeasured (the default), each member weighs as much as one request;
/// once the model reports its work (<see cref="ReportWork"/>), the group as a whole weighs that work, however many rows
/// its batch holds.
/// </summary>
public sealed class AllocationGroup
{
    internal AllocationGroup(DeviceAllocator device, string name)
    {
        Device = device;
        Name = name;
    }

    /// <summary>The device this group's requests run on.</summary>
    public DeviceAllocator Device { get; }

    /// <summary>The model's name (empty for the device's default group).</summary>
    public string Name { get; }

    /// <summary>Requests of this group in flight.</summary>
    internal int Members;

    /// <summary>The model's last measured work; 0 while unmeasured.</summary>
    internal double Work;

    /// <summary>What each member has earned since the device's sums last started afresh.</summary>
    internal DeviceShare PerMember;

    /// <summary>The device's per-weight sum when <see cref="PerMember"/> was last brought up to date.</summary>
    internal DeviceShare SeenPerWeight;

    /// <summary>The shares of the group's ended requests since the device began, never reset (the model's metric totals).</summary>
    internal DeviceShare Ended;

    /// <summary>The members' start snapshots, summed (for the in-flight total).</summary>
    internal DeviceShare Snapshots;

    internal bool Measured => Work > 0;

    /// <summary>
    /// The model's work now: from now on the group weighs <paramref name="work"/>. Whatever its unit, every model on one
    /// device must report the same: ONNX models take turns on a device and report 1 when a turn takes the device and
    /// a millionth when it gives it up, so each turn's time (all the rows of its batch, prefill included) is its model's,
    /// and the time between turns is shared. Ignored unless finite and positive.
    /// </summary>
    public void ReportWork(double work) => Device.ReportWork(this, work);

    /// <summary>The group's requests in flight now and the shares of those that ended, read together.</summary>
    internal (int InFlight, DeviceShare Ended) Totals() => Device.TotalsOf(this);

    /// <summary>A request of this group starts using the device now.</summary>
    internal AllocationTicket Start() => Device.Start(this);

    /// <summary>A request of this group stops using the device now; returns its share.</summary>
    internal DeviceShare End(AllocationTicket ticket) => Device.End(this, ticket, out _);

    /// <summary>As <see cref="End(AllocationTicket)"/>, also saying when (the device's clock, read once).</summary>
    internal DeviceShare End(AllocationTicket ticket, out DateTimeOffset endedAt) => Device.End(this, ticket, out endedAt);
}
