using ModelMeter.Metering;

namespace ModelMeter.Server.Endpoints;

/// <summary><c>POST /v1/generate/{model}</c>: the classic setup's route. Greedy unless a temperature is given.</summary>
internal static class GenerateEndpoints
{
    public const string Endpoint = "generate";

    public static void MapGenerate(this IEndpointRouteBuilder app) =>
        app.MapPost("/v1/generate/{model}", GenerateAsync).WithName("Generate");

    private static async Task<IResult> GenerateAsync(string model, HttpContext http, GenerationService generation)
    {
        var (tenant, unauthorized) = generation.Authorize(http);
        if (unauthorized is not null)
        {
            return unauthorized;
        }

        if (!generation.IsKnown(model))
        {
            return Problems.UnknownModel(model);
        }

        var (body, problem) = await RequestBody.ReadAsync<GenerateBody>(http, generation.Limits.MaxBodyBytes);
        if (problem is not null)
        {
            return generation.Refuse(model, Endpoint, problem.Reason, problem.Result);
        }

        var input = new GenerationInput(body!.Prompt, body.MaxTokens, body.Temperature, body.TopP, body.Seed, body.User);
        var (call, refused) = generation.Admit(http, tenant!, model, Endpoint, input, defaultTemperature: 0);
        if (refused is not null)
        {
            return refused;
        }

        var outcome = await generation.RunAsync(http, call!);
        return outcome.Problem ?? TypedResults.Json(new GenerateResponse(
            model, outcome.Result!.Text, call!.PromptIds.Count, outcome.Result.OutputTokens, outcome.Charge.LatencySeconds,
            outcome.Charge.CostUsd, outcome.RequestId, outcome.Result.FinishReason), RequestBody.Json);
    }
}
