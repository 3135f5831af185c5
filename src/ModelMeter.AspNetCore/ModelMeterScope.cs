using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore;

/// <summary>
/// Meters requests that your own endpoint serves (library mode): begin on a model, report tokens, complete or fail.
/// The same metrics, ledger rows, tenants and budgets as ModelMeter's own routes. Models metered this way are
/// configured with <c>"Backend": "External"</c> and a <c>Device</c> or <c>Price</c>.
/// </summary>
public sealed class ModelMeterScope
{
    /// <summary>The endpoint label used when none is given.</summary>
    public const string DefaultEndpoint = "custom";

    private readonly CostMeter _meter;
    private readonly TenantResolver _tenants;
    private readonly BudgetGate _budgets;
    private readonly LedgerHost _ledger;

    internal ModelMeterScope(CostMeter meter, TenantResolver tenants, BudgetGate budgets, LedgerHost ledger)
    {
        _meter = meter;
        _tenants = tenants;
        _budgets = budgets;
        _ledger = ledger;
    }

    /// <summary>
    /// Starts metering a request to <paramref name="model"/> now: who pays comes from <paramref name="http"/>'s
    /// <c>Authorization</c> / <c>X-Tenant</c> / <c>X-User</c> headers. Throws <see cref="ModelMeterRefusedException"/>
    /// (with the status code to answer) for an unknown model, a missing key, a spent budget or a ledger that cannot write.
    /// </summary>
    /// <param name="model">A configured model.</param>
    /// <param name="http">The request being served.</param>
    /// <param name="endpoint"><c>custom</c>, or one of <c>ScopeEndpoints</c>.</param>
    /// <param name="maxOutputTokens">The most tokens the request may generate, for budget reservations.</param>
    public async Task<MeteredScope> BeginAsync(string model, HttpContext http, string endpoint = DefaultEndpoint, int maxOutputTokens = 0)
    {
        var payer = _tenants.Resolve(http.Request.Headers.Authorization.ToString(), http.Request.Headers["X-Tenant"].ToString());
        if (payer.Tenant is not { } tenant)
        {
            throw new ModelMeterRefusedException(new GenerationError(payer.Unauthorized ? GenerationErrorKind.Unauthorized : GenerationErrorKind.InvalidField, payer.Problem!));
        }

        if (!_meter.IsKnown(model))
        {
            throw new ModelMeterRefusedException(new GenerationError(GenerationErrorKind.UnknownModel, $"No model named '{model}' is metered here.", "model"));
        }

        var (user, field, problem) = TenantResolver.User(http.Request.Headers["X-User"].ToString(), null);
        if (problem is not null)
        {
            _meter.Reject(model, endpoint, ErrorReason.BadRequest);
            throw new ModelMeterRefusedException(new GenerationError(GenerationErrorKind.InvalidField, problem, field));
        }

        if (!_ledger.Writer.TryAdmit(out var probe))
        {
            _meter.Reject(model, endpoint, ErrorReason.LedgerUnavailable);
            throw new ModelMeterRefusedException(new GenerationError(GenerationErrorKind.LedgerUnavailable, "The cost ledger cannot write; requests are refused until it can.") { RetryAfter = TimeSpan.FromSeconds(5) });
        }

        var requestId = GenerationPipeline.NewRequestId();
        var admission = await _budgets.AdmitAsync(requestId, model, tenant, 0, maxOutputTokens);
        if (admission.RefusedBy is { } budget)
        {
            probe?.Dispose();
            _meter.Reject(model, endpoint, ErrorReason.BudgetExhausted);
            throw new ModelMeterRefusedException(new GenerationError(GenerationErrorKind.BudgetExhausted, $"Budget '{budget}' is spent for this period.") { Budget = budget, RetryAfter = admission.RetryAfter });
        }

        var metered = _meter.Begin(model, endpoint);
        metered.Tenant = tenant;
        metered.User = user;
        metered.StartOnDevice();
        return new MeteredScope(metered, requestId, admission, _budgets, _ledger.Writer, probe);
    }
}
