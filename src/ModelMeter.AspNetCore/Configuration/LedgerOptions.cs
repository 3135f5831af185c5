using ModelMeter.Ledger;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>The per-request cost ledger.</summary>
public sealed class LedgerOptions
{
    /// <summary>Where rows go; only <c>Sqlite</c> today.</summary>
    public string Provider { get; set; } = "Sqlite";

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
