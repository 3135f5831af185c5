namespace ModelMeter.Ledger;

/// <summary>What a cost report groups by.</summary>
public enum CostGrouping
{
    /// <summary>By model.</summary>
    Model,

    /// <summary>By endpoint (route).</summary>
    Endpoint,

    /// <summary>By tenant (who pays).</summary>
    Tenant,

    /// <summary>By end user (<c>X-User</c> or the body's <c>user</c>).</summary>
    User,

    /// <summary>By device.</summary>
    Device,

    /// <summary>By UTC day (<c>yyyy-MM-dd</c>).</summary>
    Day,

    /// <summary>The replica (<c>ModelMeter:Node</c>) that served the request: one group per node in fleet reports.</summary>
    Node,
}

/// <summary>How a report shows device time that no request used.</summary>
public enum IdleSharing
{
    /// <summary>An <c>(idle)</c> row per device. The default.</summary>
    Separate,

    /// <summary>Each device's idle cost is spread over the groups that used the device, by their cost on it.</summary>
    Proportional,

    /// <summary>Each device's idle cost is split evenly among the groups that used the device.</summary>
    Even,
}
