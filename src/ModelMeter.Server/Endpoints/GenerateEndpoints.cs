using System.Text.Json;
using Microsoft.Extensions.Options;
using ModelMeter.Metering;
using ModelMeter.Server.Configuration;
using ModelMeter.Server.Budgets;
using ModelMeter.Server.Ledger;
using ModelMeter.Server.Models;
using ModelMeter.Server.Tenancy;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints;

/// <summary><c>POST /v1/generate/{model}</c>: the classic setup's route.</summary>
internal static partial class GenerateEndpoints
{
    public const string Endpoint = "generate";

    public static void MapGenerate(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/generate/{model}", GenerateAsync).WithName("Generate");

    private static async Task<IResult> GenerateAsync(
        string model, HttpContext http, CostMeter meter, ModelRegistry registry, IOptions<ModelMeterOptions> options,
        TenantResolver tenants, LedgerHost ledger, BudgetGate budgets, ILoggerFactory loggers)
    {
        var (tenant, unauthorized) = tenants.Resolve(http);
        if (unauthorized is not null)
        {
            return unauthorized;
        }

        if (!meter.IsKnown(model))
        {
            return Problems.UnknownModel(model);
        }

        var limits = options.Value.Limits;
        var (body, problem) = await RequestBody.ReadAsync<GenerateBody>(http, limits.MaxBodyBytes);
        if (problem is not null)
        {
            meter.Reject(model, Endpoint, problem.Reason);
            return problem.Result;
        }

        var invalid = Validate(body!, limits);
        if (invalid is not null)
        {
            meter.Reject(model, Endpoint, ErrorReason.BadRequest);
            return invalid;
        }

        if (!registry.TryGet(model, out var served))
        {
            meter.Reject(model, Endpoint, ErrorReason.Overloaded);
            return Problems.Unavailable(http, $"Model '{model}' is still loading.", retryAfterSeconds: 5);
        }

        var maxTokens = body!.MaxTokens ?? limits.DefaultMaxTokens;
        var promptIds = served.Backend.Tokenize(body.Prompt!);
        if (promptIds.Count + maxTokens > served.Backend.ContextLength)
        {
            meter.Reject(model, Endpoint, ErrorReason.BadRequest);
            return Problems.BadField("prompt", $"The prompt has {promptIds.Count} tokens; with max_tokens {maxTokens} that is over the model's context of {served.Backend.ContextLength}.");
        }

        var admission = budgets.Admit(model, tenant!, maxTokens);
        if (admission.RefusedBy is { } budget)
        {
            meter.Reject(model, Endpoint, ErrorReason.BudgetExhausted);
            return Problems.BudgetExhausted(http, budget, admission.RetryAfter);
        }

        var generation = new GenerationRequest(maxTokens, body.Temperature ?? 0, body.TopP ?? 1, body.Seed);
        var payer = new GenerationRun.Payer(tenant!, TenantResolver.User(http, body.User));
        var outcome = await GenerationRun.RunAsync(http, meter, ledger.Writer, served, Endpoint, payer, promptIds, generation, loggers.CreateLogger(typeof(GenerateEndpoints)));
        budgets.Settle(admission, model, outcome.Charge.CostUsd, outcome.Result?.OutputTokens ?? 0);
        if (outcome.Problem is not null)
        {
            return outcome.Problem;
        }

        return TypedResults.Json(new GenerateResponse(
            model, outcome.Result!.Text, promptIds.Count, outcome.Result.OutputTokens, outcome.Charge.LatencySeconds,
            outcome.Charge.CostUsd, outcome.RequestId, outcome.Result.FinishReason), RequestBody.Json);
    }

    private static IResult? Validate(GenerateBody body, LimitsOptions limits)
    {
        if (body.Prompt is null)
        {
            return Problems.BadField("prompt", "prompt is required: a string to continue.");
        }

        if (string.IsNullOrWhiteSpace(body.Prompt))
        {
            return Problems.BadField("prompt", "prompt is empty; give some text to continue.");
        }

        if (body.MaxTokens is { } max && (max < 1 || max > limits.MaxTokens))
        {
            return Problems.BadField("max_tokens", $"max_tokens is {max}; it must be between 1 and {limits.MaxTokens}.");
        }

        if (body.Temperature is { } t && (!double.IsFinite(t) || t < 0 || t > 2))
        {
            return Problems.BadField("temperature", $"temperature is {t}; it must be between 0 and 2.");
        }

        if (body.TopP is { } p && (!double.IsFinite(p) || p <= 0 || p > 1))
        {
            return Problems.BadField("top_p", $"top_p is {p}; it must be above 0 and at most 1.");
        }

        return null;
    }
}
