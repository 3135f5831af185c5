namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>
/// OpenAI-compatible <c>POST /v1/completions</c> and <c>POST /v1/chat/completions</c>, streaming (SSE) or not,
/// with <c>usage</c> filled. Same checks, metering, ledger and budgets as <c>/v1/generate</c>; errors stay problem+json.
/// </summary>
internal static class OpenAiEndpoints
{
    public const string Completions = "completions";
    public const string ChatCompletions = "chat_completions";

    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/completions", (HttpContext http, GenerationService generation) => HandleAsync<CompletionBody>(http, generation, Completions));
        app.MapPost("/v1/chat/completions", (HttpContext http, GenerationService generation) => HandleAsync<ChatBody>(http, generation, ChatCompletions));
    }

    private static async Task<IResult> HandleAsync<TBody>(HttpContext http, GenerationService generation, string endpoint)
        where TBody : class
    {
        var (tenant, unauthorized) = generation.Authorize(http);
        if (unauthorized is not null)
        {
            return unauthorized;
        }

        var (body, problem) = await RequestBody.ReadAsync<TBody>(http, generation.Limits.MaxBodyBytes);
        if (problem is not null)
        {
            return problem.Result;
        }

        var request = OpenAiRequest.From(body!);
        if (request.Model is null)
        {
            return Problems.BadField("model", "model is required; GET /v1/models lists them.");
        }

        if (!generation.IsKnown(request.Model))
        {
            return Problems.UnknownModel(request.Model);
        }

        if (request.Problem is not null)
        {
            return generation.Refuse(request.Model, endpoint, Metering.ErrorReason.BadRequest, request.Problem);
        }

        // OpenAI's default temperature is 1: sample unless the client asks for 0.
        var (call, refused) = generation.Admit(http, tenant!, request.Model, endpoint, request.Input, defaultTemperature: 1);
        if (refused is not null)
        {
            return refused;
        }

        var chat = endpoint == ChatCompletions;
        if (request.Stream)
        {
            return await OpenAiStream.WriteAsync(http, generation, call!, request.Model, chat, request.IncludeUsage);
        }

        var outcome = await generation.RunAsync(http, call!);
        if (outcome.Problem is not null)
        {
            return outcome.Problem;
        }

        var result = outcome.Result!;
        http.Response.Headers["X-Request-Id"] = outcome.RequestId;
        http.Response.Headers["X-ModelMeter-Cost-Usd"] = outcome.Charge.CostUsd.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var usage = OpenAiShapes.Usage(call!.PromptIds.Count, result.OutputTokens);
        object choice = chat
            ? new { index = 0, message = new { role = "assistant", content = result.Text }, logprobs = (object?)null, finish_reason = result.FinishReason }
            : new { index = 0, text = result.Text, logprobs = (object?)null, finish_reason = result.FinishReason };
        return Results.Json(new
        {
            id = OpenAiShapes.Id(chat, outcome.RequestId),
            @object = chat ? "chat.completion" : "text_completion",
            created = OpenAiShapes.Created(http),
            model = request.Model,
            choices = new[] { choice },
            usage,
        }, RequestBody.Json);
    }
}
