namespace ModelMeter.Ledger;

/// <summary>The ledger could not commit a row.</summary>
public sealed class LedgerUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// The row stays queued and will be written as failed (<see cref="LedgerWriter.AbandonedStatus"/>) when the ledger
    /// can: the caller must not record it again. False when the row was not kept (the caller records it deferred).
    /// </summary>
    public bool RowKept { get; init; }
}
