using System.Runtime.ExceptionServices;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Pricing;

namespace ModelMeter.AspNetCore;

/// <summary>
/// One request metered by <see cref="ModelMeterScope"/>: a thin face over the same request lifecycle the routes use.
/// Report tokens, then complete or fail it; disposing an unfinished scope fails it.
/// </summary>
public sealed class MeteredScope : IAsyncDisposable
{
    private readonly RequestLifecycle _lifecycle;
    private int _outputTokens;

    internal MeteredScope(RequestLifecycle lifecycle) => _lifecycle = lifecycle;

    /// <summary>The request's id in the ledger.</summary>
    public string RequestId => _lifecycle.RequestId;

    /// <summary>Prompt tokens.</summary>
    public int InputTokens
    {
        get => _lifecycle.Metered.InputTokens;
        set => _lifecycle.Metered.InputTokens = value;
    }

    /// <summary>Tokens generated so far.</summary>
    public int OutputTokens => _lifecycle.Metered.OutputTokens;

    /// <summary>
    /// The parts of the tokens a paid API reports apart: prompt tokens read from or written to its cache, output tokens spent
    /// on reasoning. A model with a <c>Price</c> charges them at its cache prices; every model keeps them in the ledger and
    /// metrics. Cut to <see cref="InputTokens"/> and <see cref="OutputTokens"/> when the request ends.
    /// </summary>
    public TokenDetails TokenDetails
    {
        get => _lifecycle.Metered.Details;
        set => _lifecycle.Metered.SetDetails(value);
    }

    /// <summary>More tokens were generated; the first marks the time to first token.</summary>
    public void AddOutputTokens(int count)
    {
        _outputTokens += count;
        _lifecycle.Metered.TokensSoFar(_outputTokens);
    }

    /// <summary>
    /// The request succeeded: charges it, writes its ledger row (waiting for the commit in <c>Strict</c>) and settles budgets.
    /// Throws <see cref="LedgerUnavailableException"/> when a <c>Strict</c> ledger cannot record it: do not deliver the answer then.
    /// </summary>
    public Task<RequestCharge> CompleteAsync() => EndAsync(null);

    /// <summary>The request failed with <paramref name="reason"/> (an <see cref="ErrorReason"/>); its device time is still charged.</summary>
    public Task<RequestCharge> FailAsync(string reason = ErrorReason.Internal) => EndAsync(reason);

    /// <summary>Fails the request as <c>internal</c> if it was neither completed nor failed.</summary>
    public ValueTask DisposeAsync() => _lifecycle.DisposeAsync();

    private async Task<RequestCharge> EndAsync(string? reason)
    {
        var (charge, unbilled) = await _lifecycle.EndAsync(reason);
        if (unbilled is not null)
        {
            ExceptionDispatchInfo.Throw(unbilled);
        }

        return charge;
    }
}
