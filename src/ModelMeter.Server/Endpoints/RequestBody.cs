using System.Text.Json;
using System.Text.Json.Serialization;
using ModelMeter.Metering;

namespace ModelMeter.Server.Endpoints;

/// <summary>Reads JSON request bodies strictly (snake_case names, no numbers in strings) and turns every failure into a problem that names the field.</summary>
internal static class RequestBody
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
    };

    public sealed record Problem(IResult Result, string Reason);

    public static async Task<(T? Body, Problem? Problem)> ReadAsync<T>(HttpContext http, long maxBytes)
        where T : class
    {
        if (http.Request.ContentLength > maxBytes)
        {
            return (null, new Problem(Problems.TooLarge(maxBytes), ErrorReason.TooLarge));
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync<T>(http.Request.Body, Json, http.RequestAborted);
            return body is null
                ? (null, new Problem(Problems.BadField("body", "The body must be a JSON object."), ErrorReason.BadRequest))
                : (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, new Problem(Problems.TooLarge(maxBytes), ErrorReason.TooLarge));
        }
        catch (JsonException e)
        {
            var field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
            var detail = field == "body"
                ? $"The body is not valid JSON: {e.Message}"
                : $"{field} has the wrong type or value: {e.Message}";
            return (null, new Problem(Problems.BadField(field, detail), ErrorReason.BadRequest));
        }
    }
}
