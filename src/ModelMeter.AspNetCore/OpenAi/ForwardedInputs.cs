using System.Text;
using System.Text.Json;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>
/// The prompt of a request ModelMeter forwards without reading it as chat (<c>/v1/embeddings</c>, <c>/v1/responses</c>): its
/// text, for the same checks as a chat prompt (not empty, not over the prompt cap) and for counting when the upstream gives no usage.
/// </summary>
internal static class ForwardedInputs
{
    /// <summary>
    /// <paramref name="input"/>'s text: a string; every string and text part of a list (messages, their content parts); token
    /// ids as written. An error naming <paramref name="field"/> when it is missing or of another type.
    /// </summary>
    public static (Prompt? Prompt, GenerationError? Error) Read(JsonElement? input, string field, string? instructions = null)
    {
        if (input is not { ValueKind: JsonValueKind.String or JsonValueKind.Array } value)
        {
            return (null, new GenerationError(GenerationErrorKind.InvalidField,
                input is null or { ValueKind: JsonValueKind.Null } ? $"{field} is required." : $"{field} must be a string or a list.", field));
        }

        var text = new StringBuilder(instructions);
        Append(text, value);
        return (Prompt.FromText(text.ToString()), null);
    }

    private static void Append(StringBuilder text, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                Separate(text).Append(value.GetString());
                break;
            case JsonValueKind.Number:
                Separate(text).Append(value.GetRawText()); // a token id
                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    Append(text, item);
                }

                break;
            case JsonValueKind.Object:
                foreach (var name in new[] { "content", "text", "output", "arguments" })
                {
                    if (value.TryGetProperty(name, out var part))
                    {
                        Append(text, part);
                    }
                }

                break;
        }
    }

    private static StringBuilder Separate(StringBuilder text) => text.Length == 0 ? text : text.Append('\n');
}
