namespace ModelMeter.Ledger;

/// <summary>When a request's row must be on disk.</summary>
public enum LedgerDurability
{
    /// <summary>Before the response is sent (group commit). If the ledger cannot write, requests get 503. The default.</summary>
    Strict,

    /// <summary>Within the flush interval; the server keeps serving if the ledger cannot write, and retries.</summary>
    Relaxed,
}
