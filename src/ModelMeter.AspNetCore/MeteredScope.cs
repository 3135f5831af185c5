using ModelMeter.AspNetCore.Generation;
using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore;

/// <summary>One request metered by <see cref="ModelMeterScope"/>. Report tokens, then complete or fail it; disposing an unfinished scope fails it.</summary>
public sealed class MeteredScope : IAsyncDisposable
{
    private readonly MeteredRequest _metered;
    private readonly AdmittedRequest _admitted;
    private readonly LedgerWriter _ledger;
    private int _outputTokens;
    private bool _ended;

    internal MeteredScope(MeteredRequest metered, AdmittedRequest admitted, LedgerWriter ledger)
    {
        _metered = metered;
        _admitted = admitted;
        RequestId = admitted.RequestId;
        _ledger = ledger;
    }

    /// <summary>The request's id in the ledger.</summary>
    public string RequestId { get; }

    /// <summary>Prompt tokens.</summary>
    public int InputTokens
    {
        get => _metered.InputTokens;
        set => _metered.InputTokens = value;
    }

    /// <summary>Tokens generated so far.</summary>
    public int OutputTokens => _metered.OutputTokens;

    /// <summary>More tokens were generated; the first marks the time to first token.</summary>
    public void AddOutputTokens(int count)
    {
        _outputTokens += count;
        _metered.TokensSoFar(_outputTokens);
    }

    /// <summary>
    /// The request succeeded: charges it, writes its ledger row (waiting for the commit in <c>Strict</c>) and settles budgets.
    /// Throws <see cref="LedgerUnavailableException"/> when a <c>Strict</c> ledger cannot record it: do not deliver the answer then.
    /// </summary>
    public Task<RequestCharge> CompleteAsync() => EndAsync(null);

    /// <summary>The request failed with <paramref name="reason"/> (an <see cref="ErrorReason"/>); its device time is still charged.</summary>
    public Task<RequestCharge> FailAsync(string reason = ErrorReason.Internal) => EndAsync(reason);

    /// <summary>Fails the request as <c>internal</c> if it was neither completed nor failed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_ended)
        {
            await EndAsync(ErrorReason.Internal);
        }
    }

    private async Task<RequestCharge> EndAsync(string? reason)
    {
        if (_ended)
        {
            throw new InvalidOperationException("This request has already ended.");
        }

        _ended = true;
        var charge = reason is null ? _metered.Finish() : _metered.Fail(reason);
        try
        {
            await _ledger.RecordAsync(_metered.ToLedgerRow(RequestId, charge, reason ?? "ok"));
            if (reason is null)
            {
                _metered.MarkServed(charge);
            }
        }
        catch (LedgerUnavailableException e)
        {
            // Strict: not billed, so not to be served; the row waits as failed until the ledger can write.
            if (reason is null)
            {
                _metered.MarkFailed(ErrorReason.LedgerUnavailable);
            }

            if (!e.RowKept)
            {
                await _ledger.RecordDeferredAsync(_metered.ToLedgerRow(RequestId, charge, reason ?? ErrorReason.LedgerUnavailable));
            }

            throw;
        }
        finally
        {
            await _admitted.ReleaseAsync(charge.CostUsd, _metered.OutputTokens);
        }

        return charge;
    }
}
