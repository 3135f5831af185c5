namespace ModelMeter.Server.Endpoints;

/// <summary>The <c>application/problem+json</c> answers, each naming what was wrong.</summary>
internal static class Problems
{
    public static IResult UnknownModel(string model) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown model",
            detail: $"No model named '{model}' is served here; GET /v1/models lists them.");

    public static IResult BadField(string field, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid field '{field}'", detail: detail,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    public static IResult TooLarge(long limit) =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
            detail: $"The body is over the limit of {limit} bytes.");

    public static IResult Unavailable(HttpContext http, string detail, int retryAfterSeconds)
    {
        if (!http.Response.HasStarted)
        {
            http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Model busy", detail: detail);
    }

    public static IResult BudgetExhausted(HttpContext http, string budget, TimeSpan retryAfter)
    {
        var seconds = (long)Math.Ceiling(Math.Max(1, retryAfter.TotalSeconds));
        http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Budget exhausted",
            detail: $"Budget '{budget}' is spent for this period; it resets in {seconds} s.",
            extensions: new Dictionary<string, object?> { ["budget"] = budget });
    }

    public static IResult Failed(string requestId) =>
        Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Generation failed",
            detail: $"The model failed on request {requestId}; the server log has the cause.");
}
