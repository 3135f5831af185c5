namespace ModelMeter.Ledger;

/// <summary>How a <see cref="LedgerWriter"/> writes.</summary>
/// <param name="Durability">Whether callers wait for their commit.</param>
/// <param name="FlushInterval">How often <see cref="LedgerDurability.Relaxed"/> commits, and how soon a failed write is retried.</param>
/// <param name="Capacity">Rows the queue holds before callers wait.</param>
/// <param name="CommitTimeout">How long a <see cref="LedgerDurability.Strict"/> caller waits for its commit before it is told the ledger is unavailable. Default 10 s.</param>
public sealed record LedgerWriterOptions(LedgerDurability Durability, TimeSpan FlushInterval, int Capacity = 65_536, TimeSpan? CommitTimeout = null);
