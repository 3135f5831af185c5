using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.OpenAi;

internal static partial class OpenAiEndpoints
{
    /// <summary>
    /// <c>POST /v1/embeddings</c>: forwarded whole to a gateway model's upstream and metered by its input tokens (nothing is
    /// generated); a model that runs here cannot embed (400 naming <c>model</c>).
    /// </summary>
    private static async Task<IResult> EmbedAsync(HttpContext http, GenerationPipeline pipeline, long maxBodyBytes)
    {
        var (body, bodyError, fields) = await RequestBody.ReadWithFieldsAsync<EmbeddingsRequest>(http, maxBodyBytes);
        if (body?.Model is not { } model)
        {
            return OpenAiErrors.From(http, bodyError ?? ModelRequired());
        }

        var (prompt, promptError) = ForwardedInputs.Read(body.Input, "input");
        var call = new GenerationCall(model, Embeddings, Caller.Of(http.Request.Headers))
        {
            Api = RequestApi.Embeddings,
            BodyError = promptError,
            UnsupportedHere = OnlyForwarded(model, "cannot embed: /v1/embeddings"),
            ClientFields = fields,
            Prompt = prompt,
            PromptField = "input",
            MaxTokens = 1, // nothing is generated; the budget reserves the input's cost
            User = body.User,
        };
        return await ForwardAsync(http, pipeline, call, model);
    }

    /// <summary>
    /// <c>POST /v1/responses</c>: forwarded whole to a gateway model's upstream, plain or streamed, and metered from the
    /// response's <c>usage</c>; <c>max_output_tokens</c> is the limit enforced. Models that run here are refused (400 naming <c>model</c>).
    /// </summary>
    private static async Task<IResult> RespondAsync(HttpContext http, GenerationPipeline pipeline, long maxBodyBytes)
    {
        var (body, bodyError, fields) = await RequestBody.ReadWithFieldsAsync<ResponsesRequest>(http, maxBodyBytes);
        if (body?.Model is not { } model)
        {
            return OpenAiErrors.From(http, bodyError ?? ModelRequired());
        }

        var (prompt, promptError) = ForwardedInputs.Read(body.Input, "input", body.Instructions);
        var call = new GenerationCall(model, Responses, Caller.Of(http.Request.Headers))
        {
            Api = RequestApi.Responses,
            BodyError = promptError,
            UnsupportedHere = OnlyForwarded(model, "does not serve the Responses API: /v1/responses"),
            ClientFields = fields,
            Prompt = prompt,
            PromptField = "input",
            MaxTokens = body.MaxOutputTokens,
            MaxTokensField = "max_output_tokens",
            User = body.User,
            Stream = body.Stream == true,
        };
        return await ForwardAsync(http, pipeline, call, model);
    }

    /// <summary>Runs a forwarded call and passes the upstream's answer (or stream) on, renamed and with the charged counts.</summary>
    private static async Task<IResult> ForwardAsync(HttpContext http, GenerationPipeline pipeline, GenerationCall call, string model)
    {
        var created = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeSeconds();
        if (call.Stream)
        {
            return await StreamAsync(http, pipeline, call, new OpenAiStream(http, model, chat: true, created, call.Api), includeUsage: true);
        }

        var (outcome, failed) = await RunWholeAsync(http, pipeline, call);
        return failed ?? (outcome!.Relayed is { } answer
            ? TypedResults.Json(UpstreamAnswers.Renamed(answer, model, outcome, call.Api), RequestBody.Json)
            : OpenAiErrors.From(http, new GenerationError(GenerationErrorKind.Internal, $"Model '{model}' gave no answer to pass on.")));
    }

    private static GenerationError ModelRequired() => new(GenerationErrorKind.InvalidField, "model is required; GET /v1/models lists them.", "model");

    private static GenerationError OnlyForwarded(string model, string what) => new(GenerationErrorKind.InvalidField,
        $"Model '{model}' runs in ModelMeter and {what} is forwarded to gateway models (\"Backend\": \"OpenAI\") only.", "model");
}
