using System.Text;
using System.Text.Json;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.OpenAi.Contracts;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>Turns OpenAI request shapes into a <see cref="Prompt"/> and stop list, or says which field is wrong.</summary>
internal static class OpenAiPrompts
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool"];

    /// <summary>The completion prompt: a string (a list of one string is accepted too).</summary>
    public static (Prompt? Prompt, GenerationError? Error) FromCompletion(JsonElement? prompt) => prompt switch
    {
        null or { ValueKind: JsonValueKind.Null } => (null, null), // "required" is reported by the pipeline's checks
        { ValueKind: JsonValueKind.String } text => (Prompt.FromText(text.GetString()!), null),
        { ValueKind: JsonValueKind.Array } list when list.GetArrayLength() == 1 && list[0].ValueKind == JsonValueKind.String => (Prompt.FromText(list[0].GetString()!), null),
        _ => (null, Invalid("prompt", "prompt must be a string (one prompt per request).")),
    };

    /// <summary>The chat prompt: the messages as they are (a backend renders or forwards them).</summary>
    /// <param name="messages">The body's messages.</param>
    /// <param name="forwarded">The messages go to an upstream as sent: content may be null (an assistant's tool calls) or hold parts
    /// other than text (images); the prompt keeps their text, for the context check and estimates.</param>
    public static (Prompt? Prompt, GenerationError? Error) FromChat(List<ChatMessageBody>? messages, bool forwarded = false)
    {
        if (messages is null || messages.Count == 0)
        {
            return (null, Invalid("messages", "messages is required: a non-empty list of {role, content}."));
        }

        var parsed = new List<ChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is null)
            {
                return (null, Invalid("messages", $"messages[{i}] must be an object {{role, content}}, not null."));
            }

            if (messages[i].Role is not { } role || !Roles.Contains(role))
            {
                return (null, Invalid("messages", $"messages[{i}].role must be system, developer, user, assistant or tool."));
            }

            if (Text(messages[i].Content, forwarded) is not { } content)
            {
                return (null, Invalid("messages", $"messages[{i}].content must be a string or a list of text parts."));
            }

            parsed.Add(new ChatMessage(role, content));
        }

        return (Prompt.FromMessages(parsed), null);
    }

    /// <summary><c>stop</c>: a string or a list of strings.</summary>
    public static (IReadOnlyList<string>? Stop, GenerationError? Error) Stop(JsonElement? stop)
    {
        switch (stop)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return (null, null);
            case { ValueKind: JsonValueKind.String } one:
                return ([one.GetString()!], null);
            case { ValueKind: JsonValueKind.Array } list when list.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String):
                return (list.EnumerateArray().Select(e => e.GetString()!).ToArray(), null);
            default:
                return (null, Invalid("stop", "stop must be a string or a list of at most 4 strings."));
        }
    }

    private static GenerationError Invalid(string field, string message) => new(GenerationErrorKind.InvalidField, message, field);

    private static string? Text(JsonElement? content, bool forwarded = false)
    {
        if (content is { ValueKind: JsonValueKind.String } text)
        {
            return text.GetString();
        }

        if (forwarded && content is null or { ValueKind: JsonValueKind.Null })
        {
            return "";
        }

        if (content is not { ValueKind: JsonValueKind.Array } parts)
        {
            return null;
        }

        var joined = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
            {
                if (forwarded && part.ValueKind == JsonValueKind.Object)
                {
                    continue; // an image or audio part: the upstream reads it, the prompt's text does not hold it
                }

                return null;
            }

            joined.Append(value.GetString());
        }

        return joined.ToString();
    }
}
