using System.Globalization;
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

    public static ErrorResponse Body(GenerationError error) => new(new ErrorDetail(error.Message, Type(error), error.Field, Code(error)));

    private static string Type(GenerationError error) => error.Kind switch
    {
        GenerationErrorKind.Unauthorized => "authentication_error",
        GenerationErrorKind.UnknownModel or GenerationErrorKind.InvalidField or GenerationErrorKind.TooLarge or GenerationErrorKind.UnsupportedMediaType => "invalid_request_error",
        GenerationErrorKind.BudgetExhausted => "insufficient_quota",
        GenerationErrorKind.RateLimited => "rate_limit_error",
        GenerationErrorKind.UpstreamRejected when error.UpstreamStatus is >= 400 and < 500 => "invalid_request_error",
        GenerationErrorKind.UpstreamUnreachable or GenerationErrorKind.UpstreamTimeout or GenerationErrorKind.UpstreamRejected or GenerationErrorKind.UpstreamBroken or GenerationErrorKind.UpstreamAuth => "upstream_error",
        _ => "server_error",
    };

    private static string? Code(GenerationError error) => error.Kind switch
    {
        GenerationErrorKind.Unauthorized => "invalid_api_key",
        GenerationErrorKind.UnknownModel => "model_not_found",
        GenerationErrorKind.InvalidField => "invalid_value",
        GenerationErrorKind.TooLarge => "request_too_large",
        GenerationErrorKind.UnsupportedMediaType => "unsupported_media_type",
        GenerationErrorKind.BudgetExhausted => "budget_exhausted",
        GenerationErrorKind.RateLimited => "rate_limit_exceeded",
        GenerationErrorKind.NotReady => "model_loading",
        GenerationErrorKind.Overloaded => "overloaded",
        GenerationErrorKind.LedgerUnavailable => "ledger_unavailable",
        GenerationErrorKind.UpstreamRejected => "upstream_" + (error.UpstreamStatus ?? 0).ToString(CultureInfo.InvariantCulture),
        GenerationErrorKind.UpstreamUnreachable => "upstream_unreachable",
        GenerationErrorKind.UpstreamTimeout => "upstream_timeout",
        GenerationErrorKind.UpstreamBroken => "upstream_broken",
        GenerationErrorKind.UpstreamAuth => "upstream_auth",
        _ => null,
    };
}
