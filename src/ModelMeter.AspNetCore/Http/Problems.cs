using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelMeter.AspNetCore.Generation;

namespace ModelMeter.AspNetCore.Http;

/// <summary>The <c>application/problem+json</c> answers, each naming what was wrong.</summary>
internal static class Problems
{
    public static ProblemHttpResult BadField(string field, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid field '{field}'", detail: detail,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>503 with <c>Retry-After</c>: a store the answer needs cannot be reached now.</summary>
    public static IResult Unavailable(HttpContext http, string detail, TimeSpan retryAfter)
    {
        http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service Unavailable", detail: detail);
    }

    public static IResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }

    /// <summary>The problem answer of a refused or failed generation (with <c>Retry-After</c> and <c>WWW-Authenticate</c> where they apply).</summary>
    public static IResult From(HttpContext http, GenerationError error)
    {
        Headers(http, error);
        var extensions = new Dictionary<string, object?>();
        if (error.Field is not null)
        {
            extensions["field"] = error.Field;
        }

        if (error.Budget is not null)
        {
            extensions["budget"] = error.Budget;
        }

        return TypedResults.Problem(statusCode: error.StatusCode, title: GenerationErrors.Title(error), detail: error.Message, extensions: extensions);
    }

    /// <summary>Sets the headers an error answer carries, if the response has not started.</summary>
    public static void Headers(HttpContext http, GenerationError error)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        if (error.RetryAfter is { } retry)
        {
            http.Response.Headers.RetryAfter = ((long)Math.Ceiling(retry.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (error.Kind == GenerationErrorKind.Unauthorized)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
        }
    }
}
