namespace ModelMeter.Ledger;

/// <summary>Where request rows are written (implemented by <see cref="LedgerWriter"/>): what the request path needs of the ledger.</summary>
public interface ILedgerRecorder
{
    /// <summary>Whether callers wait for their commit.</summary>
    LedgerDurability Durability { get; }

    /// <summary>False from a failed write until a write succeeds.</summary>
    bool IsHealthy { get; }

    /// <summary>
    /// Whether a <see cref="LedgerDurability.Strict"/> request may run: always while the ledger is healthy; while it is not,
    /// one request at a time (the probe, given back by disposing <paramref name="probe"/>) after each wait.
    /// </summary>
    bool TryAdmit(out IDisposable? probe);

    /// <summary>Queues a request row; in <see cref="LedgerDurability.Strict"/> completes once it is committed (else throws <see cref="LedgerUnavailableException"/>).</summary>
    ValueTask RecordAsync(LedgerRow row, CancellationToken cancellationToken = default);

    /// <summary>Queues a row nobody waits for (kept until the ledger can write).</summary>
    ValueTask RecordDeferredAsync(LedgerRow row);
}
