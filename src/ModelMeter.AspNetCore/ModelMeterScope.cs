using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore;

/// <summary>
/// Meters requests that your own endpoint serves (library mode): begin on a model, report tokens, complete or fail.
/// The same metrics, ledger rows, tenants, rate limits and budgets as ModelMeter's own routes, admitted by the same steps
/// in the same order with the same errors. Models metered this way are configured with <c>"Backend": "External"</c> and
/// a <c>Device</c> or <c>Price</c>.
/// </summary>
public sealed class ModelMeterScope
{
    /// <summary>The endpoint label used when none is given.</summary>
    public const string DefaultEndpoint = "custom";

    private readonly CostMeter _meter;
    private readonly RequestAdmission _admission;

    internal ModelMeterScope(CostMeter meter, RequestAdmission admission)
    {
        _meter = meter;
        _admission = admission;
    }

    /// <summary>
    /// Starts metering a request to <paramref name="model"/> now: who pays comes from <paramref name="http"/>'s
    /// <c>Authorization</c> / <c>X-Tenant</c> / <c>X-User</c> headers. Throws <see cref="ModelMeterRefusedException"/>
    /// (with the status code and <c>Retry-After</c> to answer) for a missing key, an unknown model or endpoint, a tenant
    /// over its rate limit, a spent budget or a ledger that cannot write; nothing is held after a refusal.
    /// </summary>
    /// <param name="model">A configured model.</param>
    /// <param name="http">The request being served.</param>
    /// <param name="endpoint"><c>custom</c>, or one of <c>ScopeEndpoints</c>.</param>
    /// <param name="maxOutputTokens">The most tokens the request may generate, for budget reservations.</param>
    public async Task<MeteredScope> BeginAsync(string model, HttpContext http, string endpoint = DefaultEndpoint, int maxOutputTokens = 0)
    {
        var requestId = GenerationPipeline.NewRequestId();
        var headers = http.Request.Headers;
        var caller = Caller.Of(headers);
        var (tenant, unknown) = _admission.Identify(model, caller);
        if (tenant is null)
        {
            throw new ModelMeterRefusedException(unknown!);
        }

        if (!_meter.IsKnownEndpoint(model, endpoint))
        {
            // Checked before anything is taken; not counted, since an unknown label would make a new series.
            throw new ModelMeterRefusedException(new GenerationError(GenerationErrorKind.InvalidField,
                $"Endpoint '{endpoint}' is not one ModelMeter meters; add it to ModelMeter:ScopeEndpoints.", "endpoint"));
        }

        var (user, field, problem) = TenantResolver.User(caller.User, null);
        if (problem is not null)
        {
            throw new ModelMeterRefusedException(_admission.Refused(model, endpoint, new GenerationError(GenerationErrorKind.InvalidField, problem, field)));
        }

        var (admitted, refused) = await _admission.AdmitAsync(requestId, model, endpoint, tenant, 0, Math.Max(0, maxOutputTokens));
        if (refused is not null)
        {
            throw new ModelMeterRefusedException(refused);
        }

        admitted!.Metered.User = user;
        admitted.StartOnDevice();
        return new MeteredScope(admitted);
    }
}
