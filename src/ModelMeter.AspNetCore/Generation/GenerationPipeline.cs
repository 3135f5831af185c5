using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// The one path of every generation, whatever the route or backend: who pays, model known and ready, field
/// checks, context window (where the backend counts tokens), budget admission, the model's gate, metering,
/// the backend's stream, the ledger row and the budget settlement. Makes the request id once, counts each
/// refusal once, and returns an outcome with no HTTP in it.
/// </summary>
internal sealed partial class GenerationPipeline(
    CostMeter meter, ModelCatalog catalog, IOptions<ModelMeterOptions> options, TenantResolver tenants, TenantRateLimiter rateLimits,
    ILedgerRecorder ledger, BudgetGate budgets, ILogger<GenerationPipeline> logger)
{
    private LimitsOptions Limits => options.Value.Limits;

    /// <summary>Runs <paramref name="call"/>; <paramref name="observer"/> sees each chunk as it is made (a stream).</summary>
    public async Task<GenerationOutcome> RunAsync(GenerationCall call, IGenerationObserver? observer, CancellationToken aborted)
    {
        var requestId = NewRequestId();
        var (tenant, unknown) = Identify(call.Model, call.Caller);
        if (tenant is null)
        {
            return new GenerationOutcome(requestId, call.Model, unknown!);
        }

        var (user, userField, userProblem) = TenantResolver.User(call.Caller.User, call.User);
        if ((call.BodyError ?? Validate(call) ?? (userProblem is null ? null : Invalid(userField!, userProblem))) is { } invalid)
        {
            return Refuse(requestId, call.Model, call.Endpoint, invalid);
        }

        if (!catalog.TryGet(call.Model, out var served) || served.Backend is null)
        {
            var loading = served is null ? $"Model '{call.Model}' is still loading." : $"Model '{call.Model}' is served by the application's own endpoint, not by this route.";
            return Refuse(requestId, call.Model, call.Endpoint, new GenerationError(served is null ? GenerationErrorKind.NotReady : GenerationErrorKind.InvalidField, loading, served is null ? null : "model")
            {
                RetryAfter = served is null ? TimeSpan.FromSeconds(5) : null,
            });
        }

        var maxTokens = call.MaxTokens ?? Limits.DefaultMaxTokens;
        var counter = served.Backend as ITokenCounter;
        var maxChars = Limits.MaxPromptChars ?? (counter?.ContextLength is { } window ? window * CharsPerToken : DefaultMaxPromptChars);
        var promptText = call.Prompt!.AllText();
        if (promptText.Length > maxChars)
        {
            // Checked before tokenizing, so that a huge prompt costs no CPU before the queue.
            return Refuse(requestId, call.Model, call.Endpoint, Invalid(call.PromptField, $"{call.PromptField} has {promptText.Length} characters; at most {maxChars} for this model."));
        }

        int? promptTokens = null;
        if (counter is not null)
        {
            promptTokens = counter.CountTokens(call.Prompt!);
            if (counter.ContextLength is { } context && promptTokens + maxTokens > context)
            {
                return Refuse(requestId, call.Model, call.Endpoint, new GenerationError(GenerationErrorKind.InvalidField,
                    $"The prompt has {promptTokens} tokens; with {call.MaxTokensField} {maxTokens} that is over the model's context of {context}.", call.PromptField));
            }
        }

        var inputTokens = promptTokens ?? EstimateTokens(promptText); // counted where the backend can, else estimated
        var (admitted, refused) = await AdmitAsync(requestId, call.Model, call.Endpoint, tenant, inputTokens, maxTokens);
        if (refused is not null)
        {
            return new GenerationOutcome(requestId, call.Model, refused);
        }

        var request = new GenerationRequest(maxTokens, call.Temperature ?? call.DefaultTemperature, call.TopP, call.Seed)
        {
            Stop = call.Stop,
            User = call.User,
            Stream = call.Stream,
            UsesMaxCompletionTokens = call.MaxTokensField == "max_completion_tokens",
        };
        await using var lifecycle = admitted!;
        lifecycle.Metered.User = user;
        return await RunMeteredAsync(new Run(call, served, request, inputTokens, promptTokens is null), lifecycle, observer, aborted);
    }

    /// <summary>Who pays (from the credentials) and whether the model is configured; unknown callers and models are not counted (no series).</summary>
    internal (string? Tenant, GenerationError? Error) Identify(string model, Caller caller)
    {
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
    internal async Task<(RequestLifecycle? Admitted, GenerationError? Refused)> AdmitAsync(string requestId, string model, string endpoint, string tenant, int inputTokens, int maxTokens)
    {
        var (lease, retryAfter, limit) = rateLimits.TryAcquire(tenant);
        if (lease is null)
        {
            return (null, Counted(model, endpoint, new GenerationError(GenerationErrorKind.RateLimited, $"Tenant '{tenant}' is over its {limit}; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.")
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
            return (null, Counted(model, endpoint, new GenerationError(GenerationErrorKind.BudgetExhausted, why) { Budget = budget, RetryAfter = TimeSpan.FromSeconds(seconds) }));
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

            return (null, Counted(model, endpoint, new GenerationError(GenerationErrorKind.LedgerUnavailable,
                "The cost ledger cannot write; requests are refused until it can.") { RetryAfter = LedgerWriter.RetryAfterFailure }));
        }

        return (new RequestLifecycle(requestId, tenant, meter.Begin(model, endpoint), lease, admission, probe, budgets, ledger), null);
    }

    /// <summary>More characters than any real token has: the prompt cap is the context window times this.</summary>
    private const int CharsPerToken = 16;

    /// <summary>The prompt cap for a model whose context is unknown (a gateway without a tokenizer).</summary>
    private const int DefaultMaxPromptChars = 1_000_000;

    /// <summary>A new request id: <c>req_</c> and 32 hex digits.</summary>
    public static string NewRequestId() => $"req_{Guid.NewGuid():N}";

    /// <summary>A rough token count (4 characters a token) where no tokenizer is at hand.</summary>
    internal static int EstimateTokens(string text) => (text.Length + 3) / 4;

    private GenerationOutcome Refuse(string requestId, string model, string endpoint, GenerationError error) =>
        new(requestId, model, Counted(model, endpoint, error));

    /// <summary>Counts a refusal of a configured model once, under its bounded reason.</summary>
    private GenerationError Counted(string model, string endpoint, GenerationError error)
    {
        meter.Reject(model, endpoint, GenerationErrors.Reason(error.Kind));
        return error;
    }

    private GenerationError? Validate(GenerationCall call)
    {
        var prompt = call.PromptField;
        if (call.Prompt is null)
        {
            return Invalid(prompt, $"{prompt} is required.");
        }

        if (string.IsNullOrWhiteSpace(call.Prompt.AllText()))
        {
            return Invalid(prompt, $"{prompt} is empty; give some text to continue.");
        }

        if (call.MaxTokens is { } max && (max < 1 || max > Limits.MaxTokens))
        {
            return Invalid(call.MaxTokensField, $"{call.MaxTokensField} is {max}; it must be between 1 and {Limits.MaxTokens}.");
        }

        if (call.Temperature is { } t && (!double.IsFinite(t) || t < 0 || t > 2))
        {
            return Invalid("temperature", $"temperature is {t}; it must be between 0 and 2.");
        }

        if (call.TopP is { } p && (!double.IsFinite(p) || p <= 0 || p > 1))
        {
            return Invalid("top_p", $"top_p is {p}; it must be above 0 and at most 1.");
        }

        if (call.Prompt.Messages is { Count: var messages } && messages > Limits.MaxMessages)
        {
            return Invalid(prompt, $"{prompt} has {messages} messages; at most {Limits.MaxMessages}.");
        }

        if (call.Stop is { } stop && (stop.Count > 4 || stop.Any(string.IsNullOrEmpty)))
        {
            return Invalid("stop", "stop must be a string or a list of at most 4 non-empty strings.");
        }

        return null;
    }

    private static GenerationError Invalid(string field, string message) => new(GenerationErrorKind.InvalidField, message, field);


    /// <summary>What the metered run needs beside the lifecycle.</summary>
    private sealed record Run(GenerationCall Call, ServedModel Served, GenerationRequest Request, int InputTokens, bool InputEstimated);
}
