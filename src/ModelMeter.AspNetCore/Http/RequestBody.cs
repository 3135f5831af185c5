using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using ModelMeter.AspNetCore.Generation;

namespace ModelMeter.AspNetCore.Http;

/// <summary>
/// Reads JSON request bodies strictly (snake_case names, no numbers in strings, every string readable as text) and turns
/// every failure into an error that names the field.
/// </summary>
internal static class RequestBody
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Reads the body as <typeparamref name="T"/>; bodies over <paramref name="maxBytes"/> are refused (the limit is set on the request, so it holds in any host).</summary>
    public static async Task<(T? Body, GenerationError? Error)> ReadAsync<T>(HttpContext http, long maxBytes)
        where T : class
    {
        var (body, error, _) = await ReadWithFieldsAsync<T>(http, maxBytes);
        return (body, error);
    }

    /// <summary>As <see cref="ReadAsync{T}"/>, and the body's top-level fields as sent (for a gateway that forwards them whole).</summary>
    public static async Task<(T? Body, GenerationError? Error, IReadOnlyDictionary<string, JsonElement>? Fields)> ReadWithFieldsAsync<T>(HttpContext http, long maxBytes)
        where T : class
    {
        if (!http.Request.HasJsonContentType())
        {
            // Browsers send text/plain or forms cross-site without asking first; a JSON API takes JSON only.
            return (null, new GenerationError(GenerationErrorKind.UnsupportedMediaType,
                $"The body must be sent as Content-Type: application/json, not '{http.Request.ContentType}'."), null);
        }

        if (http.Request.Headers.ContentEncoding is { Count: > 0 } encoding && !encoding.All(e => string.Equals(e?.Trim(), "identity", StringComparison.OrdinalIgnoreCase)))
        {
            // Still there: no decompression took the body (the ModelMeter server decodes gzip, br and deflate, and removes the header).
            return (null, new GenerationError(GenerationErrorKind.UnsupportedMediaType,
                $"The body is sent with Content-Encoding: {encoding}, which is not decoded here: send it uncompressed, or to the ModelMeter server compressed once with gzip, br or deflate."), null);
        }

        if (http.Request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes), null);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && (limit.MaxRequestBodySize is null || limit.MaxRequestBodySize > maxBytes))
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        // Syntax first (the whole body, so a truncated body is "not JSON" rather than a bad field), then types, naming the field.
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes), null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
        {
            // Fewer bytes than Content-Length said, then nothing: Kestrel's minimum data rate gives up on the body.
            return (null, new GenerationError(GenerationErrorKind.BodyTimeout, "The body arrived too slowly (or stopped short of its Content-Length) and was given up on."), null);
        }
        catch (BadHttpRequestException e)
        {
            // A body Kestrel could not read, such as one cut off by the client: the request is not read, not a server error.
            return (null, Invalid("body", $"The body could not be read: {e.Message}"), null);
        }
        catch (JsonException e)
        {
            return (null, Invalid("body", $"The body is not valid JSON: {e.Message}"), null);
        }
        catch (InvalidDataException e)
        {
            // A compressed body whose bytes are not what its Content-Encoding says.
            return (null, Invalid("body", $"The body could not be decompressed: {e.Message}"), null);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, Invalid("body", "The body must be a JSON object."), null);
            }

            if (JsonText.FindUnreadable(document.RootElement) is { } unreadable)
            {
                var where = unreadable.Length > 2 ? unreadable[2..] : "body";
                return (null, Invalid(where.Split('.', '[')[0], $"{(where == "body" ? "The body's JSON" : where)} holds text that is not valid Unicode: bytes that are not UTF-8, or an escaped surrogate (\\ud800-\\udfff) without its pair."), null);
            }

            if (JsonText.FindDuplicate(document.RootElement) is { } duplicate)
            {
                var where = duplicate[2..];
                return (null, Invalid(where.Split('.', '[')[0], $"{where} is given twice in one object; give each field once."), null);
            }

            try
            {
                var body = document.Deserialize<T>(Json)!;
                var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                foreach (var field in document.RootElement.EnumerateObject())
                {
                    fields[field.Name] = field.Value.Clone();
                }

                return (body, null, fields);
            }
            catch (JsonException e)
            {
                var field = e.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : "body";
                var sent = document.RootElement.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : null;
                var type = TypeOf<T>(field);
                return (null, Invalid(field, sent is not null && (type == typeof(int) || type == typeof(long))
                    ? BadWholeNumber(field, sent, type == typeof(int) ? (int.MinValue, int.MaxValue) : (long.MinValue, long.MaxValue))
                    : $"{field} must be {Expected(field, type)}."), null);
            }
        }
    }

    private const string WholeNumber = "a whole number";

    /// <summary>A number sent where a whole number goes: one with a fraction or exponent (<c>5.0</c>, <c>1e3</c>), or one too large for it.</summary>
    private static string BadWholeNumber(string field, string sent, (long Min, long Max) range) =>
        sent.AsSpan().IndexOfAny('.', 'e', 'E') < 0 // JSON's digits alone: a whole number the field cannot hold
            ? $"{field} is {sent}; it must be a whole number from {range.Min} to {range.Max}."
            : $"{field} must be {WholeNumber}, written without a fraction or exponent, not {sent}.";

    /// <summary>
    /// The type a field is read as (nullable or not), by its path: a top-level one, or one inside objects and lists
    /// (<c>stream_options.include_usage</c>, <c>messages[0].role</c>); null for one <typeparamref name="T"/> does not have.
    /// </summary>
    private static Type? TypeOf<T>(string field)
    {
        Type? type = typeof(T);
        foreach (var step in field.Split('.'))
        {
            var name = step.Split('[')[0];
            var property = type?.GetProperties().FirstOrDefault(p =>
                (p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonPropertyNameAttribute), true) is [System.Text.Json.Serialization.JsonPropertyNameAttribute named]
                    ? named.Name : Json.PropertyNamingPolicy!.ConvertName(p.Name)) == name);
            type = property is null ? null : Unwrapped(property.PropertyType);
            for (var i = step.Count(c => c == '['); i > 0 && type is not null; i--)
            {
                // An item of a list: the list's element type.
                type = type.IsArray ? Unwrapped(type.GetElementType()!)
                    : type.GetInterfaces().Append(type).FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>)) is { } list
                        ? Unwrapped(list.GetGenericArguments()[0]) : null;
            }
        }

        return type;

        static Type Unwrapped(Type type) => Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>What a field should hold, in JSON's words (never .NET type names).</summary>
    private static string Expected(string field, Type? type)
    {
        return type == typeof(int) || type == typeof(long) ? WholeNumber
            : type == typeof(double) ? "a number"
            : type == typeof(string) ? "a string"
            : type == typeof(bool) ? "true or false"
            : type is not null && type.IsAssignableTo(typeof(System.Collections.IEnumerable)) ? "a list"
            : type is { IsClass: true } ? "an object"
            : field.Contains('.') || field.Contains('[') ? "well-formed (see the API's description of it)"
            : "a valid value";
    }

    private static GenerationError TooLarge(long limit) => new(GenerationErrorKind.TooLarge, $"The body is over the limit of {limit} bytes (counted uncompressed).");

    private static GenerationError Invalid(string field, string message) => new(GenerationErrorKind.InvalidField, message, field);
}
