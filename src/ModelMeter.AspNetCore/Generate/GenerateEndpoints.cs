using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Http;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generate;

/// <summary><c>POST /v1/generate/{model}</c>: the classic setup's route. Greedy unless a temperature is given; errors are problem+json.</summary>
internal static class GenerateEndpoints
{
    public const string Endpoint = "generate";

    public static void MapGenerate(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/generate/{**model}", GenerateAsync).WithName("Generate");

    /// <summary>The fields this route reads; any other is refused, so that a misspelt <c>max_token</c> is not answered with the default.</summary>
    private static readonly string[] Fields = ["prompt", "max_tokens", "temperature", "top_p", "seed", "user"];

    private static GenerationError? UnknownField(IReadOnlyDictionary<string, System.Text.Json.JsonElement>? fields) =>
        fields?.Keys.FirstOrDefault(f => !Fields.Contains(f, StringComparer.Ordinal)) is { } unknown
            ? new GenerationError(GenerationErrorKind.InvalidField,
                $"{unknown} is not a field of /v1/generate, which takes {string.Join(", ", Fields)} (the model is in the path; the OpenAI routes take OpenAI's fields).", unknown)
            : null;

    private static async Task<IResult> GenerateAsync(string model, HttpContext http, GenerationPipeline pipeline, IOptions<ModelMeterOptions> options)
    {
        var (body, bodyError, fields) = await RequestBody.ReadWithFieldsAsync<GenerateBody>(http, options.Value.Limits.MaxBodyBytes);
        var call = new GenerationCall(model, Endpoint, Caller.Of(http.Request.Headers))
        {
            BodyError = bodyError ?? UnknownField(fields),
            Prompt = body?.Prompt is { } prompt ? Prompt.FromText(prompt) : null,
            MaxTokens = body?.MaxTokens,
            Temperature = body?.Temperature,
            TopP = body?.TopP,
            Seed = body?.Seed,
            User = body?.User,
        };

        var outcome = await pipeline.RunAsync(call, observer: null, http.RequestAborted);
        if (outcome.Error is { } error)
        {
            return error.Kind == GenerationErrorKind.ClientClosed ? Results.Empty : Problems.From(http, error);
        }

        // The same headers as the OpenAI routes' whole answers, so a client reads the cost the same way from either.
        http.Response.Headers["X-Request-Id"] = outcome.RequestId;
        http.Response.Headers["X-ModelMeter-Cost-Usd"] = outcome.Charge.CostUsd.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        http.Response.Headers["X-ModelMeter-Energy-J"] = outcome.Charge.EnergyJoules.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Json(new GenerateResponse(
            model, outcome.Text, outcome.InputTokens, outcome.OutputTokens, outcome.Charge.LatencySeconds,
            outcome.Charge.CostUsd, outcome.RequestId, outcome.FinishReason ?? "stop")
        {
            EnergyJ = outcome.Charge.EnergyJoules,
            Co2eG = outcome.Charge.Co2eGrams,
        }, RequestBody.Json);
    }
}
