using System.Text;
using System.Text.Json;

namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>Turns OpenAI request shapes into a prompt string, or says which field is wrong.</summary>
internal static class OpenAiPrompts
{
    /// <summary>The completion prompt: a string (a list of one string is accepted too).</summary>
    public static (string? Prompt, IResult? Problem) FromCompletion(JsonElement? prompt) => prompt switch
    {
        null or { ValueKind: JsonValueKind.Null } => (null, null), // "required" is reported by the shared checks
        { ValueKind: JsonValueKind.String } text => (text.GetString(), null),
        { ValueKind: JsonValueKind.Array } list when list.GetArrayLength() == 1 && list[0].ValueKind == JsonValueKind.String => (list[0].GetString(), null),
        _ => (null, Problems.BadField("prompt", "prompt must be a string (one prompt per request).")),
    };

    /// <summary>
    /// Chat messages rendered as <c>role: content</c> lines ending with <c>assistant:</c>. GPT-2-style models have
    /// no chat template; a model exported with one would want it applied instead.
    /// </summary>
    public static (string? Prompt, IResult? Problem) FromChat(List<ChatMessage>? messages)
    {
        if (messages is null || messages.Count == 0)
        {
            return (null, Problems.BadField("messages", "messages is required: a non-empty list of {role, content}."));
        }

        var prompt = new StringBuilder();
        for (var i = 0; i < messages.Count; i++)
        {
            var role = messages[i].Role;
            if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
            {
                return (null, Problems.BadField("messages", $"messages[{i}].role must be system, developer, user, assistant or tool."));
            }

            if (Text(messages[i].Content) is not { } content)
            {
                return (null, Problems.BadField("messages", $"messages[{i}].content must be a string or a list of text parts."));
            }

            prompt.Append(role).Append(": ").Append(content).Append('\n');
        }

        return (prompt.Append("assistant:").ToString(), null);
    }

    private static string? Text(JsonElement? content)
    {
        if (content is { ValueKind: JsonValueKind.String } text)
        {
            return text.GetString();
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
                return null;
            }

            joined.Append(value.GetString());
        }

        return joined.ToString();
    }
}
