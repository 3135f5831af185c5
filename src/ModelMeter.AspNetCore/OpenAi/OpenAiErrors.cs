using Microsoft.AspNetCore.Http;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.OpenAi.Contracts;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>Errors in OpenAI's shape, <c>{"error": {"message", "type", "param", "code"}}</c>, with the same status codes as the problem answers.</summary>
internal static class OpenAiErrors
{
    public static IResult From(HttpContext http, GenerationError error)
    {
        Problems.Headers(http, error);
        return TypedResults.Json(Body(error), RequestBody.Json, statusCode: error.StatusCode);
    }

    public static ErrorResponse Body(GenerationError error) => new(new ErrorDetail(error.Message, GenerationErrors.OpenAiType(error), error.Field, GenerationErrors.OpenAiCode(error)));
}
