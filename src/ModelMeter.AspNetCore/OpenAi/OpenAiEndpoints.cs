using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.AspNetCore.Tenancy;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>
/// OpenAI-compatible <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c> (streamed over SSE or not, with
/// <c>usage</c>), <c>POST /v1/embeddings</c> and <c>POST /v1/responses</c> (gateway models only), and <c>GET /v1/models</c>.
/// Same pipeline as <c>/v1/generate</c>; errors in OpenAI's shape.
/// </summary>
internal static partial class OpenAiEndpoints
{
    public const string Completions = "completions";
    public const string ChatCompletions = "chat_completions";
    public const string Embeddings = "embeddings";
    public const string Responses = "responses";

    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/completions", (HttpContext http, GenerationPipeline pipeline, IOptions<ModelMeterOptions> options) =>
            HandleAsync<CompletionRequest>(http, pipeline, options.Value.Limits.MaxBodyBytes, Completions));
        app.MapPost("/v1/chat/completions", (HttpContext http, GenerationPipeline pipeline, IOptions<ModelMeterOptions> options) =>
            HandleAsync<ChatCompletionRequest>(http, pipeline, options.Value.Limits.MaxBodyBytes, ChatCompletions));
        app.MapPost("/v1/embeddings", (HttpContext http, GenerationPipeline pipeline, IOptions<ModelMeterOptions> options) =>
            EmbedAsync(http, pipeline, options.Value.Limits.MaxBodyBytes));
        app.MapPost("/v1/responses", (HttpContext http, GenerationPipeline pipeline, IOptions<ModelMeterOptions> options) =>
            RespondAsync(http, pipeline, options.Value.Limits.MaxBodyBytes));
        app.MapGet("/v1/models", ListModels);
        app.MapGet("/v1/models/{**model}", GetModel); // a catch-all: model names such as meta-llama/Llama-3.1-8B hold slashes
    }

    public static string Id(bool chat, string requestId) => (chat ? "chatcmpl-" : "cmpl-") + requestId;

    private static IResult ListModels(HttpContext http, IOptions<ModelMeterOptions> options, ModelCatalog catalog, TenantResolver tenants, TimeProvider time)
    {
        if (KeyRefused(http, tenants) is { } refused)
        {
            return refused;
        }

        var created = time.GetUtcNow().ToUnixTimeSeconds();
        return TypedResults.Json(new ModelList("list", options.Value.Models.Select(m => Entry(m.Key, m.Value, created, catalog)).ToList()), RequestBody.Json);
    }

    /// <summary>OpenAI's "retrieve model": one model as <c>GET /v1/models</c> lists it, or 404 <c>model_not_found</c>.</summary>
    private static IResult GetModel(string model, HttpContext http, IOptions<ModelMeterOptions> options, ModelCatalog catalog, TenantResolver tenants, TimeProvider time)
    {
        if (KeyRefused(http, tenants) is { } refused)
        {
            return refused;
        }

        return options.Value.Models.TryGetValue(model, out var configured)
            ? TypedResults.Json(Entry(model, configured, time.GetUtcNow().ToUnixTimeSeconds(), catalog), RequestBody.Json)
            : OpenAiErrors.From(http, new GenerationError(GenerationErrorKind.UnknownModel, $"No model named '{model}' is served here; GET /v1/models lists them.", "model"));
    }

    /// <summary>The 401 for a caller without a known key (with auth on, the model routes take any tenant key or the admin key); null otherwise.</summary>
    private static IResult? KeyRefused(HttpContext http, TenantResolver tenants) =>
        tenants.IsKnownKey(http.Request.Headers.Authorization.ToString()) ? null
            : OpenAiErrors.From(http, new GenerationError(GenerationErrorKind.Unauthorized, "A valid API key is required: Authorization: Bearer <key>."));

    private static ModelEntry Entry(string name, ModelOptions model, long created, ModelCatalog catalog) =>
        new(name, "model", created, "modelmeter", model.Device, model.Backend, catalog.TryGet(name, out _)) { LoadFailed = catalog.HasFailed(name) ? true : null };

    private static async Task<IResult> HandleAsync<TBody>(HttpContext http, GenerationPipeline pipeline, long maxBodyBytes, string endpoint)
        where TBody : OpenAiRequest
    {
        var (body, bodyError, fields) = await RequestBody.ReadWithFieldsAsync<TBody>(http, maxBodyBytes);
        if (body?.Model is not { } model)
        {
            return OpenAiErrors.From(http, bodyError ?? new GenerationError(GenerationErrorKind.InvalidField, "model is required; GET /v1/models lists them.", "model"));
        }

        var call = ToCall(body, fields!, model, endpoint, Caller.Of(http.Request.Headers));
        var chat = endpoint == ChatCompletions;
        var created = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds();
        if (call.Stream)
        {
            return await StreamAsync(http, pipeline, call, new OpenAiStream(http, model, chat, created), body.StreamOptions?.IncludeUsage == true);
        }

        var (outcome, failed) = await RunWholeAsync(http, pipeline, call);
        if (failed is not null)
        {
            return failed;
        }

        if (outcome!.Relayed is { } answer)
        {
            return TypedResults.Json(UpstreamAnswers.Renamed(answer, model, outcome), RequestBody.Json); // the upstream's answer as it came, under the client's model name
        }

        var usage = Usage.Of(outcome.InputTokens, outcome.OutputTokens);
        var finish = outcome.FinishReason ?? "stop";
        return chat
            ? TypedResults.Json(new ChatCompletion(Id(true, outcome.RequestId), "chat.completion", created, model,
                [new ChatChoice(0, new AssistantMessage("assistant", outcome.Text), null, null, finish)], usage), RequestBody.Json)
            : TypedResults.Json(new TextCompletion(Id(false, outcome.RequestId), "text_completion", created, model,
                [new TextChoice(0, outcome.Text, null, finish)], usage), RequestBody.Json);
    }

    /// <summary>Runs a streamed call: the stream's events as they come, then its end (usage if asked for) or an error event; a request refused before its first event gets its status.</summary>
    private static async Task<IResult> StreamAsync(HttpContext http, GenerationPipeline pipeline, GenerationCall call, OpenAiStream stream, bool includeUsage)
    {
        var streamed = await pipeline.RunAsync(call, stream, http.RequestAborted);
        if (streamed.Error is { Kind: GenerationErrorKind.ClientClosed })
        {
            return Results.Empty; // the client left; the pipeline charged what it used
        }

        if (streamed.Error is { } early && !stream.Started)
        {
            return OpenAiErrors.From(http, early);
        }

        await stream.EndAsync(streamed, includeUsage, http.RequestAborted);
        return Results.Empty;
    }

    /// <summary>Runs a call answered whole: its outcome with the id and cost headers set, or the error to answer.</summary>
    private static async Task<(GenerationOutcome? Outcome, IResult? Failed)> RunWholeAsync(HttpContext http, GenerationPipeline pipeline, GenerationCall call)
    {
        var outcome = await pipeline.RunAsync(call, observer: null, http.RequestAborted);
        if (outcome.Error is { } error)
        {
            return (null, error.Kind == GenerationErrorKind.ClientClosed ? Results.Empty : OpenAiErrors.From(http, error));
        }

        http.Response.Headers["X-Request-Id"] = outcome.RequestId;
        http.Response.Headers["X-ModelMeter-Cost-Usd"] = outcome.Charge.CostUsd.ToString("R", CultureInfo.InvariantCulture);
        http.Response.Headers["X-ModelMeter-Energy-J"] = outcome.Charge.EnergyJoules.ToString("R", CultureInfo.InvariantCulture);
        return (outcome, null);
    }

    /// <summary>The call the pipeline runs. The body's fields as sent go with it: a gateway forwards them whole; a model that runs here refuses what it cannot honour.</summary>
    private static GenerationCall ToCall(OpenAiRequest body, IReadOnlyDictionary<string, System.Text.Json.JsonElement> fields, string model, string endpoint, Caller caller)
    {
        var (prompt, promptError) = body switch
        {
            ChatCompletionRequest c => OpenAiPrompts.FromChat(c.Messages),
            CompletionRequest c => OpenAiPrompts.FromCompletion(c.Prompt),
            _ => throw new ArgumentException($"Not an OpenAI body: {body.GetType().Name}"),
        };
        GenerationError? textOnlyError = null;
        if (promptError is not null && body is ChatCompletionRequest chat && OpenAiPrompts.FromChat(chat.Messages, forwarded: true) is ({ } forwardable, null))
        {
            // Messages a model here cannot read (a tool call's null content, an image) that a gateway forwards as they are.
            (prompt, promptError, textOnlyError) = (forwardable, null, promptError);
        }
        var (stop, stopError) = OpenAiPrompts.Stop(body.Stop);
        var completionTokens = (body as ChatCompletionRequest)?.MaxCompletionTokens;
        return new GenerationCall(model, endpoint, caller)
        {
            BodyError = promptError ?? stopError,
            UnsupportedHere = OpenAiCapabilities.Unsupported(fields) ?? textOnlyError,
            ClientFields = fields,
            Prompt = prompt,
            PromptField = body is ChatCompletionRequest ? "messages" : "prompt",
            MaxTokens = completionTokens ?? body.MaxTokens,
            MaxTokensField = completionTokens is not null ? "max_completion_tokens" : "max_tokens",
            Temperature = body.Temperature,
            DefaultTemperature = 1, // OpenAI's default: sample unless the client asks for 0
            TopP = body.TopP,
            Seed = body.Seed,
            Stop = stop,
            User = body.User,
            Stream = body.Stream == true,
        };
    }
}
