namespace ModelMeter.Ledger;

/// <summary>The ledger could not commit a row.</summary>
public sealed class LedgerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
