using ModelMeter.AspNetCore.Budgets;
using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// A request past admission, holding what admission took for it: the tenant's rate-limit lease, the budget reservation
/// and (while the ledger fails) the ledger probe. <see cref="ReleaseAsync"/> gives each back exactly once, whatever ended
/// the request; routes, the gateway and the library's scope all end their requests through it.
/// </summary>
internal sealed class AdmittedRequest(
    string requestId, string model, string tenant, IDisposable rateLease, BudgetAdmission budget, IDisposable? ledgerProbe, BudgetGate budgets)
{
    private int _released;

    public string RequestId => requestId;

    public string Model => model;

    public string Tenant => tenant;

    /// <summary>What the budgets reserved for it, US dollars (a stream's provisional row carries it as its cost).</summary>
    public double ReservedUsd => budget.EstimateUsd;

    /// <summary>Settles the reservation with what the request cost, and lets go of the probe and the lease. Once; later calls do nothing.</summary>
    public async Task ReleaseAsync(double costUsd, int outputTokens)
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            // Always settled: a reservation left behind would eat the budget for the rest of its period.
            await budgets.SettleAsync(budget, model, tenant, costUsd, outputTokens);
        }
        finally
        {
            ledgerProbe?.Dispose();
            rateLease.Dispose();
        }
    }
}
