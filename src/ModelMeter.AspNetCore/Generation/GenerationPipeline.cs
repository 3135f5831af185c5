using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Tenancy;
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
    ModelCatalog catalog, IOptions<ModelMeterOptions> options, RequestAdmission admission, ILogger<GenerationPipeline> logger)
{
    private LimitsOptions Limits => options.Value.Limits;

    /// <summary>Runs <paramref name="call"/>; <paramref name="observer"/> sees each chunk as it is made (a stream).</summary>
    public async Task<GenerationOutcome> RunAsync(GenerationCall call, IGenerationObserver? observer, CancellationToken aborted)
    {
        var requestId = NewRequestId();
        var (tenant, unknown) = admission.Identify(call.Model, call.Caller);
        if (tenant is null)
        {
            return new GenerationOutcome(requestId, call.Model, unknown!);
        }

        var (user, userField, userProblem) = TenantResolver.User(call.Caller.User, call.User);
        if ((call.BodyError ?? Validate(call) ?? (userProblem is null ? null : Invalid(userField!, userProblem))) is { } invalid)
        {
            return Refuse(requestId, call.Model, call.Endpoint, invalid);
        }

        var served = catalog.TryGet(call.Model, out var loaded) ? loaded : null;
        if (served is null && catalog.HasFailed(call.Model))
        {
            // Not "still loading" with a Retry-After: a client would retry for ever. Why is in the log, not for clients (paths).
            return Refuse(requestId, call.Model, call.Endpoint, new GenerationError(GenerationErrorKind.ModelFailed,
                $"Model '{call.Model}' could not be loaded when the server started (its log says why); it is unavailable until the server is restarted with it fixed."));
        }

        if (served is null || served.Backend is null)
        {
            var loading = served is null ? $"Model '{call.Model}' is still loading." : $"Model '{call.Model}' is served by the application's own endpoint, not by this route.";
            return Refuse(requestId, call.Model, call.Endpoint, new GenerationError(served is null ? GenerationErrorKind.NotReady : GenerationErrorKind.InvalidField, loading, served is null ? null : "model")
            {
                RetryAfter = served is null ? TimeSpan.FromSeconds(5) : null,
            });
        }

        if (call.UnsupportedHere is { } unsupported && !served.Backend.ForwardsRequests)
        {
            return Refuse(requestId, call.Model, call.Endpoint, unsupported);
        }

        if (Denied(call) is { } denied)
        {
            return Refuse(requestId, call.Model, call.Endpoint, Invalid(denied, $"{denied} is not allowed for model '{call.Model}' on this server."));
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
        var (admitted, refused) = await admission.AdmitAsync(requestId, call.Model, call.Endpoint, tenant, inputTokens, maxTokens);
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
            Api = call.Api,
            ClientFields = served.Backend.ForwardsRequests ? call.ClientFields : null,
        };
        await using var lifecycle = admitted!;
        lifecycle.Metered.User = user;
        return await RunMeteredAsync(new Run(call, served, request, inputTokens, promptTokens is null), lifecycle, observer, aborted);
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
        new(requestId, model, admission.Refused(model, endpoint, error));

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

    /// <summary>The first field of the body the model's <c>DeniedFields</c> refuse (sent with a value, not null); null when none.</summary>
    private string? Denied(GenerationCall call) =>
        call.ClientFields is { } fields && options.Value.Models.TryGetValue(call.Model, out var model)
            ? model.DeniedFields.FirstOrDefault(name => fields.TryGetValue(name, out var value) && value.ValueKind != System.Text.Json.JsonValueKind.Null)
            : null;


    /// <summary>What the metered run needs beside the lifecycle.</summary>
    private sealed record Run(GenerationCall Call, ServedModel Served, GenerationRequest Request, int InputTokens, bool InputEstimated);
}
