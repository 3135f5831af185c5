using System.Text.Json;

namespace ModelMeter.Server.Endpoints.OpenAi;

/// <summary>The fields both OpenAI bodies share (the ones ModelMeter honours; others are ignored).</summary>
internal abstract class OpenAiBody
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? Seed { get; set; }

    public int? N { get; set; }

    public bool? Stream { get; set; }

    public StreamOptions? StreamOptions { get; set; }

    public string? User { get; set; }
}

/// <summary>The body of <c>POST /v1/completions</c>.</summary>
internal sealed class CompletionBody : OpenAiBody
{
    public JsonElement? Prompt { get; set; }
}

/// <summary>The body of <c>POST /v1/chat/completions</c>.</summary>
internal sealed class ChatBody : OpenAiBody
{
    public List<ChatMessage>? Messages { get; set; }

    public int? MaxCompletionTokens { get; set; }
}

/// <summary>One chat message; content is a string or a list of <c>{"type": "text", "text": ...}</c> parts.</summary>
internal sealed class ChatMessage
{
    public string? Role { get; set; }

    public JsonElement? Content { get; set; }
}

/// <summary><c>stream_options</c>: <c>include_usage</c> adds a last chunk with the token counts.</summary>
internal sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }
}
