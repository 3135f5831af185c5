using Microsoft.Extensions.Options;
using ModelMeter.Metering;
using ModelMeter.Server.Budgets;
using ModelMeter.Server.Configuration;
using ModelMeter.Server.Ledger;
using ModelMeter.Server.Models;
using ModelMeter.Server.Tenancy;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints;

/// <summary>
/// The steps every generation route shares: who pays, whether the model exists and is loaded, field
/// checks, the context window, the budgets, then the metered run and the budget settlement.
/// Each refusal is counted in <c>model_request_errors_total</c> and answered as problem+json.
/// </summary>
internal sealed class GenerationService(
    CostMeter meter, ModelRegistry registry, IOptions<ModelMeterOptions> options, TenantResolver tenants,
    LedgerHost ledger, BudgetGate budgets, ILogger<GenerationService> logger)
{
    public LimitsOptions Limits => options.Value.Limits;

    public (string? Tenant, IResult? Problem) Authorize(HttpContext http) => tenants.Resolve(http);

    public bool IsKnown(string model) => meter.IsKnown(model);

    /// <summary>Counts a refusal of a known model's request and returns its problem.</summary>
    public IResult Refuse(string model, string endpoint, string reason, IResult problem)
    {
        meter.Reject(model, endpoint, reason);
        return problem;
    }

    public (AdmittedGeneration? Call, IResult? Problem) Admit(
        HttpContext http, string tenant, string model, string endpoint, GenerationInput input, double defaultTemperature)
    {
        if (Validate(input, Limits) is { } invalid)
        {
            return (null, Refuse(model, endpoint, ErrorReason.BadRequest, invalid));
        }

        if (!registry.TryGet(model, out var served))
        {
            return (null, Refuse(model, endpoint, ErrorReason.Overloaded, Problems.Unavailable(http, $"Model '{model}' is still loading.", retryAfterSeconds: 5)));
        }

        var maxTokens = input.MaxTokens ?? Limits.DefaultMaxTokens;
        var promptIds = served.Backend.Tokenize(input.Prompt!);
        if (promptIds.Count + maxTokens > served.Backend.ContextLength)
        {
            return (null, Refuse(model, endpoint, ErrorReason.BadRequest, Problems.BadField(input.PromptField,
                $"The prompt has {promptIds.Count} tokens; with {input.MaxTokensField} {maxTokens} that is over the model's context of {served.Backend.ContextLength}.")));
        }

        var admission = budgets.Admit(model, tenant, maxTokens);
        if (admission.RefusedBy is { } budget)
        {
            return (null, Refuse(model, endpoint, ErrorReason.BudgetExhausted, Problems.BudgetExhausted(http, budget, admission.RetryAfter)));
        }

        var request = new GenerationRequest(maxTokens, input.Temperature ?? defaultTemperature, input.TopP ?? 1, input.Seed);
        var payer = new GenerationRun.Payer(tenant, TenantResolver.User(http, input.User));
        return (new AdmittedGeneration(served, endpoint, payer, promptIds, request, admission), null);
    }

    /// <summary>Runs an admitted request; <paramref name="observer"/> sees each token as it is made (streaming).</summary>
    public async Task<GenerationRun.Outcome> RunAsync(HttpContext http, AdmittedGeneration call, ITokenSink? observer = null, string? requestId = null)
    {
        var outcome = await GenerationRun.RunAsync(http, meter, ledger.Writer, call.Served, call.Endpoint, call.Payer, call.PromptIds, call.Request, logger, observer, requestId);
        budgets.Settle(call.Budget, call.Served.Name, outcome.Charge.CostUsd, outcome.Result?.OutputTokens ?? 0);
        return outcome;
    }

    private static IResult? Validate(GenerationInput input, LimitsOptions limits)
    {
        if (input.Prompt is null)
        {
            return Problems.BadField(input.PromptField, $"{input.PromptField} is required.");
        }

        if (string.IsNullOrWhiteSpace(input.Prompt))
        {
            return Problems.BadField(input.PromptField, $"{input.PromptField} is empty; give some text to continue.");
        }

        if (input.MaxTokens is { } max && (max < 1 || max > limits.MaxTokens))
        {
            return Problems.BadField(input.MaxTokensField, $"{input.MaxTokensField} is {max}; it must be between 1 and {limits.MaxTokens}.");
        }

        if (input.Temperature is { } t && (!double.IsFinite(t) || t < 0 || t > 2))
        {
            return Problems.BadField("temperature", $"temperature is {t}; it must be between 0 and 2.");
        }

        if (input.TopP is { } p && (!double.IsFinite(p) || p <= 0 || p > 1))
        {
            return Problems.BadField("top_p", $"top_p is {p}; it must be above 0 and at most 1.");
        }

        return null;
    }
}
