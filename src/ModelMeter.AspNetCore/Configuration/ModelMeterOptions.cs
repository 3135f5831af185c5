using ModelMeter.Allocation;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>The <c>ModelMeter</c> configuration section.</summary>
public sealed class ModelMeterOptions
{
    /// <summary>The section name in appsettings.json; environment variables use <c>ModelMeter__...</c>.</summary>
    public const string Section = "ModelMeter";

    /// <summary>Devices by name: what each costs per hour.</summary>
    public Dictionary<string, DeviceOptions> Devices { get; set; } = [];

    /// <summary>Models by name: where each is loaded from and which device it runs on.</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = [];

    /// <summary>How device cost is split among requests.</summary>
    public AllocationOptions Allocation { get; set; } = new();

    /// <summary>Request limits.</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>This replica's name in the fleet ledger (reports <c>by=node</c>). Default: the host name and the port it listens on.</summary>
    public string? Node { get; set; }

    /// <summary>The per-request ledger.</summary>
    public LedgerOptions Ledger { get; set; } = new();

    /// <summary>API keys.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Where budget spending is kept (this process, or Redis for a fleet).</summary>
    public BudgetStoreOptions BudgetStore { get; set; } = new();

    /// <summary>Spending limits.</summary>
    public List<BudgetOptions> Budgets { get; set; } = [];

    /// <summary>
    /// Endpoint label values for your own routes metered with <c>ModelMeterScope</c> (a bounded set, so each is a
    /// metric series). <c>custom</c> is always there.
    /// </summary>
    public List<string> ScopeEndpoints { get; set; } = [];

    /// <summary>Budget webhook delivery.</summary>
    public WebhookOptions Webhooks { get; set; } = new();

    /// <summary>Tenants by name; these names may appear in <c>model_tenant_cost_dollars_total</c>.</summary>
    public Dictionary<string, TenantOptions> Tenants { get; set; } = [];

    /// <summary>The devices marked <see cref="DeviceOptions.Shared"/>: billed once for the fleet.</summary>
    internal IReadOnlyCollection<string> SharedDevices => [.. Devices.Where(d => d.Value.Shared).Select(d => d.Key)];
}

/// <summary>How device cost is split among requests.</summary>
public sealed class AllocationOptions
{
    /// <summary>Default <see cref="AllocationMethod.SharedTime"/>: request costs plus idle add up to the bill.</summary>
    public AllocationMethod Method { get; set; } = AllocationMethod.SharedTime;
}
