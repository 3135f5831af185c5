using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>The per-request cost ledger.</summary>
public sealed class LedgerOptions
{
    /// <summary>
    /// <c>Sqlite</c> (default): this replica's file is the ledger. <c>ClickHouse</c>: rows still commit to the SQLite file
    /// first (Strict waits for that), then a shipper sends them to ClickHouse, where reports read every replica's rows.
    /// </summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Whether <see cref="Provider"/> names ClickHouse (any case): rows are shipped to the fleet ledger.</summary>
    internal bool UsesClickHouse => string.Equals(Provider, "ClickHouse", StringComparison.OrdinalIgnoreCase);

    /// <summary>The fleet ledger, with <see cref="Provider"/> <c>ClickHouse</c>.</summary>
    public ClickHouseOptions ClickHouse { get; set; } = new();

    /// <summary>The SQLite file, relative to the content root. Default <c>data/ledger.db</c>.</summary>
    public string Path { get; set; } = "data/ledger.db";

    /// <summary>Default <see cref="LedgerDurability.Strict"/>: a response waits until its row is committed.</summary>
    public LedgerDurability Durability { get; set; } = LedgerDurability.Strict;

    /// <summary>How often <see cref="LedgerDurability.Relaxed"/> commits, milliseconds. Default 1000.</summary>
    public int FlushIntervalMs { get; set; } = 1000;

    /// <summary>How long a request waits for its row's commit in <see cref="LedgerDurability.Strict"/> before it is answered 503, milliseconds. Default 10000.</summary>
    public int CommitTimeoutMs { get; set; } = 10_000;

    /// <summary>Rows the write queue holds before requests wait. Default 65536.</summary>
    public int QueueCapacity { get; set; } = 65_536;
}

/// <summary>Where the fleet's ledger lives and how rows are shipped there.</summary>
public sealed class ClickHouseOptions
{
    /// <summary>ClickHouse's HTTP interface. Default <c>http://127.0.0.1:8123</c>.</summary>
    public string Url { get; set; } = "http://127.0.0.1:8123";

    /// <summary>The database (created at start). Default <c>modelmeter</c>.</summary>
    public string Database { get; set; } = "modelmeter";

    /// <summary>The ClickHouse user; default none (ClickHouse's <c>default</c> user).</summary>
    public string? User { get; set; }

    /// <summary>The name of an environment variable holding the user's password (never logged).</summary>
    public string? PasswordEnv { get; set; }

    /// <summary>Rows per shipment, at most. Default 5000.</summary>
    public int BatchSize { get; set; } = 5000;

    /// <summary>How often the shipper looks for new rows, milliseconds. Default 1000.</summary>
    public int ShipIntervalMs { get; set; } = 1000;

    /// <summary>Seconds one shipment may take before it is tried again. Default 30.</summary>
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>How often a replica settles shared devices' closed minutes, milliseconds. Default 10000.</summary>
    public int SettleIntervalMs { get; set; } = 10_000;

    /// <summary>A replica silent longer than this (no watermark) is gone: it holds up no settlement of shared devices, seconds. Default 120.</summary>
    public int NodeTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Shared devices' minutes are settled again this long after they close, so rows that arrive late (a request still
    /// running when its minute closed, a replica that shipped late) are counted; minutes older than that are final. Default 10.
    /// </summary>
    public int ResettleMinutes { get; set; } = 10;

    /// <summary>The fleet ledger these options name, talking through <paramref name="http"/> (the password read from <see cref="PasswordEnv"/>).</summary>
    /// <param name="http">The connection.</param>
    /// <param name="sharedDevices">The devices billed once for the fleet.</param>
    internal ClickHouseLedger CreateLedger(HttpClient http, IReadOnlyCollection<string> sharedDevices)
    {
        var password = PasswordEnv is { } variable ? Environment.GetEnvironmentVariable(variable) : null;
        return new ClickHouseLedger(new ClickHouseClient(http, new Uri(Url), User ?? (password is null ? null : "default"), password), Database)
        {
            SharedDevices = sharedDevices,
        };
    }
}
