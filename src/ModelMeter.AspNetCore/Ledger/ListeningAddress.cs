namespace ModelMeter.AspNetCore.Ledger;

/// <summary>Where the server listens (null before it does): hosting gives it, so the ledger does not reach into the server.</summary>
internal delegate Uri? ListeningAddress();
