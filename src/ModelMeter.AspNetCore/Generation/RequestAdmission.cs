using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// Who pays and whether a request may start, for every entry point (the routes through the pipeline, the library's
/// scope directly): the credentials, the model, the tenant's rate limit, the budgets and the ledger, in that order.
/// An admitted request is a <see cref="RequestLifecycle"/> holding what admission took.
/// </summary>
internal sealed class RequestAdmission(CostMeter meter, TenantResolver tenants, TenantRateLimiter rateLimits, BudgetGate budgets, ILedgerRecorder ledger)
{
    /// <summary>Who pays (from the credentials) and whether the model is configured; unknown callers and models are not counted (no series).</summary>
    public (string? Tenant, GenerationError? Error) Identify(string model, Caller caller)
    {
        if (caller.Repeated is { } header && (header != "X-Tenant" || !tenants.AuthEnabled)) // with auth on, X-Tenant is not read
        {
            return (null, new GenerationError(GenerationErrorKind.InvalidField, $"The {header} header is given more than once; give it once.", header));
        }

        var payer = tenants.Resolve(caller.Authorization, caller.Tenant);
        if (payer.Tenant is not { } tenant)
        {
            var kind = payer.Unauthorized ? GenerationErrorKind.Unauthorized : GenerationErrorKind.InvalidField;
            return (null, new GenerationError(kind, payer.Problem!, payer.Unauthorized ? null : "X-Tenant"));
        }

        if (!meter.IsKnown(model))
        {
            return (null, new GenerationError(GenerationErrorKind.UnknownModel, $"No model named '{model}' is served here; GET /v1/models lists them.", "model"));
        }

        return (tenant, null);
    }

    /// <summary>
    /// Admission, in one order for every entry point: the tenant's rate limit, the budgets (reserving the most the request
    /// can cost), then the ledger (in Strict, refused while it cannot write, one probe at a time). What each step took is
    /// given back if a later one refuses; the request's lifecycle holds it all (and its meter) until it ends.
    /// </summary>
    public async Task<(RequestLifecycle? Admitted, GenerationError? Refused)> AdmitAsync(string requestId, string model, string endpoint, string tenant, int inputTokens, int maxTokens)
    {
        var (lease, retryAfter, limit) = rateLimits.TryAcquire(tenant);
        if (lease is null)
        {
            return (null, Refused(model, endpoint, new GenerationError(GenerationErrorKind.RateLimited, $"Tenant '{tenant}' is over its {limit}; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.")
            {
                RetryAfter = retryAfter,
            }));
        }

        BudgetAdmission admission;
        try
        {
            admission = await budgets.AdmitAsync(requestId, model, tenant, inputTokens, maxTokens);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (admission.RefusedBy is { } budget)
        {
            lease.Dispose();
            var seconds = Math.Ceiling(Math.Max(1, admission.RetryAfter.TotalSeconds));
            var why = admission.HeldByRequestsInFlight
                ? $"Budget '{budget}' is held by requests in flight; retry after {seconds} s."
                : $"Budget '{budget}' is spent for this period; it resets in {seconds} s.";
            return (null, Refused(model, endpoint, new GenerationError(GenerationErrorKind.BudgetExhausted, why) { Budget = budget, RetryAfter = TimeSpan.FromSeconds(seconds) }));
        }

        if (!ledger.TryAdmit(out var probe))
        {
            // Strict: never serve a request that cannot be billed. Refused before it takes a model slot; one probe at a time tries the ledger.
            try
            {
                await budgets.SettleAsync(admission, model, tenant, 0, 0);
            }
            finally
            {
                lease.Dispose();
            }

            return (null, Refused(model, endpoint, new GenerationError(GenerationErrorKind.LedgerUnavailable,
                "The cost ledger cannot write; requests are refused until it can.") { RetryAfter = LedgerWriter.RetryAfterFailure }));
        }

        return (new RequestLifecycle(requestId, tenant, meter.Begin(model, endpoint), new(lease, admission, probe), budgets, ledger), null);
    }

    /// <summary>Counts a refusal of a configured model once, under its bounded reason, and returns it: every entry point refuses through here.</summary>
    public GenerationError Refused(string model, string endpoint, GenerationError error)
    {
        meter.Reject(model, endpoint, GenerationErrors.Reason(error.Kind));
        return error;
    }
}
