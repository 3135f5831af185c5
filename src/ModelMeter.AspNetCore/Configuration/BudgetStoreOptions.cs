namespace ModelMeter.AspNetCore.Configuration;

/// <summary>Where budget spending is kept: in this process, or in Redis shared by a fleet of replicas.</summary>
public sealed class BudgetStoreOptions
{
    /// <summary><c>Local</c> (default): each replica keeps its own. <c>Redis</c>: one count per budget and period for the whole fleet.</summary>
    public string Provider { get; set; } = "Local";

    /// <summary>With <see cref="Provider"/> <c>Redis</c>.</summary>
    public RedisBudgetOptions Redis { get; set; } = new();

    /// <summary>What to do when Redis cannot answer: <c>Open</c> (serve, count, warn; the default) or <c>Closed</c> (429 for requests under an enforcing budget).</summary>
    public BudgetStoreFailureMode OnUnavailable { get; set; } = BudgetStoreFailureMode.Open;

    /// <summary>
    /// Seconds between reconciliations of each budget's spend from the fleet ledger (ClickHouse), so that admin corrections
    /// and settlements lost while Redis was down heal. 0 turns it off; it needs <c>Ledger:Provider</c> <c>ClickHouse</c>. Default 60.
    /// </summary>
    public int ReconcileSeconds { get; set; } = 60;
}

/// <summary>The Redis that holds the fleet's budgets.</summary>
public sealed class RedisBudgetOptions
{
    /// <summary>A StackExchange.Redis configuration string. Default <c>127.0.0.1:6379</c>.</summary>
    public string Configuration { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of every key ModelMeter writes. Default <c>modelmeter:</c>.</summary>
    public string KeyPrefix { get; set; } = "modelmeter:";

    /// <summary>Milliseconds one Redis call may take before the store counts as unavailable. Default 2000.</summary>
    public int TimeoutMs { get; set; } = 2000;
}

/// <summary>What admission does when the budget store cannot answer.</summary>
public enum BudgetStoreFailureMode
{
    /// <summary>Admit, count <c>budget_store_unavailable_total</c> and log a warning.</summary>
    Open,

    /// <summary>Refuse requests under an enforcing budget with 429 (and admit the others).</summary>
    Closed,
}
