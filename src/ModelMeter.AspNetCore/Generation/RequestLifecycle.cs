using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// One admitted request, from admission to settlement, for every entry point (routes, the gateway, the library's scope).
/// It owns everything taken for it: the tenant's rate-limit lease, the budget reservation, the ledger probe (while the
/// ledger fails), the model's gate slot and the meter (its share of the device). <see cref="EndAsync"/> ends it once,
/// whatever ended it: the slot goes back, the device share ends, exactly one final row is written, the reservation
/// settles and the lease and probe go back. Disposing one that was not ended ends it as <c>internal</c>.
/// </summary>
internal sealed class RequestLifecycle : IAsyncDisposable
{
    private readonly Holdings _held;
    private readonly BudgetGate _budgets;
    private readonly ILedgerRecorder _ledger;
    private ModelGate.Slot? _slot;
    private bool _provisionalWritten;
    private int _ended;

    public RequestLifecycle(string requestId, string tenant, MeteredRequest metered, Holdings held, BudgetGate budgets, ILedgerRecorder ledger)
    {
        RequestId = requestId;
        Tenant = tenant;
        Metered = metered;
        _held = held;
        _budgets = budgets;
        _ledger = ledger;
        metered.Tenant = tenant;
    }

    public string RequestId { get; }

    public string Tenant { get; }

    /// <summary>The meter of this request: tokens go here as they come.</summary>
    public MeteredRequest Metered { get; }

    /// <summary>What the budgets reserved for it, US dollars (a stream's provisional row carries it as its cost).</summary>
    public double ReservedUsd => _held.Budget.EstimateUsd;

    /// <summary>Whether it has ended (a second end is a bug in the caller).</summary>
    public bool Ended => Volatile.Read(ref _ended) != 0;

    /// <summary>Waits for a place at the model's gate (weighed by the cache it holds); false if the queue is full. Held until the end.</summary>
    public async Task<bool> EnterGateAsync(ModelGate gate, long weight, CancellationToken aborted)
    {
        _slot = await gate.TryEnterAsync(weight, aborted);
        return _slot is not null;
    }

    /// <summary>The request starts computing: from now on it shares its device's cost.</summary>
    public void StartOnDevice() => Metered.StartOnDevice();

    /// <summary>In Strict durability, commits the stream's provisional row (once) before its first token reaches the client.</summary>
    public async ValueTask BeforeFirstChunkAsync(CancellationToken aborted)
    {
        if (_provisionalWritten || _ledger.Durability != LedgerDurability.Strict)
        {
            return;
        }

        _provisionalWritten = true;
        await _ledger.RecordAsync(Metered.ToProvisionalRow(RequestId, ReservedUsd), aborted);
    }

    /// <summary>
    /// Ends the request, once: as served (<paramref name="failure"/> null) or failed with that <see cref="ErrorReason"/>.
    /// The gate slot goes back before the ledger commit (the next request computes meanwhile). With
    /// <paramref name="writeRow"/> false (refused at the gate, nothing ran) no row is written. A served request whose
    /// row a Strict ledger cannot commit is counted as failed, and the settlement says so: its answer must not be given.
    /// </summary>
    public async Task<Settlement> EndAsync(string? failure, bool writeRow = true)
    {
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            throw new InvalidOperationException("This request has already ended.");
        }

        RequestCharge charge = default;
        LedgerUnavailableException? unbilled = null;
        try
        {
            charge = failure is null ? Metered.Finish() : Metered.Fail(failure);
            _slot?.Dispose();
            if (writeRow)
            {
                unbilled = await WriteRowAsync(charge, failure);
            }
        }
        finally
        {
            await ReleaseAsync(charge.CostUsd);
        }

        return new Settlement(charge, unbilled);
    }

    /// <summary>Ends it as <c>internal</c> if nobody did: an exception on the way must not leave a lease, a reservation or a slot behind.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Ended)
        {
            await EndAsync(ErrorReason.Internal);
        }
    }

    private async Task<LedgerUnavailableException?> WriteRowAsync(RequestCharge charge, string? failure)
    {
        try
        {
            await _ledger.RecordAsync(Metered.ToLedgerRow(RequestId, charge, failure ?? "ok"));
            if (failure is null)
            {
                Metered.MarkServed(charge);
            }

            return null;
        }
        catch (LedgerUnavailableException e)
        {
            // Strict: an answer that could not be billed is not given. Its device time is still the model's: the row
            // waits (as failed) until the ledger can write, so that request rows plus idle still equal the bill.
            if (failure is null)
            {
                Metered.MarkFailed(ErrorReason.LedgerUnavailable);
            }

            if (!e.RowKept)
            {
                await _ledger.RecordDeferredAsync(Metered.ToLedgerRow(RequestId, charge, failure ?? ErrorReason.LedgerUnavailable));
            }

            return e;
        }
    }

    private async Task ReleaseAsync(double costUsd)
    {
        try
        {
            // Always settled: a reservation left behind would eat the budget for the rest of its period.
            await _budgets.SettleAsync(_held.Budget, Metered.Model, Tenant, costUsd, Metered.OutputTokens);
        }
        finally
        {
            _slot?.Dispose();
            _held.LedgerProbe?.Dispose();
            _held.RateLease.Dispose();
        }
    }

    /// <summary>What admission took for a request: the tenant's rate-limit lease, the budget reservation, the ledger probe (while the ledger fails).</summary>
    public sealed record Holdings(IDisposable RateLease, BudgetAdmission Budget, IDisposable? LedgerProbe);

    /// <summary>How a request ended: its charge, and the ledger failure that kept a served answer from being billed (null when billed).</summary>
    public sealed record Settlement(RequestCharge Charge, LedgerUnavailableException? Unbilled);
}
