using System.Text.Json;

namespace ModelMeter.AspNetCore.OpenAi.Contracts;

/// <summary>The fields both OpenAI request bodies share (the ones ModelMeter honours or forwards; others are ignored). Read by the routes, written by the gateway.</summary>
internal abstract class OpenAiRequest
{
    public string? Model { get; set; }

    public int? MaxTokens { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? Seed { get; set; }

    public int? N { get; set; }

    /// <summary>A string or a list of up to 4 strings.</summary>
    public JsonElement? Stop { get; set; }

    public bool? Stream { get; set; }

    public StreamOptions? StreamOptions { get; set; }

    public string? User { get; set; }
}

/// <summary>The body of <c>POST /v1/completions</c>.</summary>
internal sealed class CompletionRequest : OpenAiRequest
{
    /// <summary>A string (a list of one string is accepted too).</summary>
    public JsonElement? Prompt { get; set; }
}

/// <summary>The body of <c>POST /v1/chat/completions</c>.</summary>
internal sealed class ChatCompletionRequest : OpenAiRequest
{
    public List<ChatMessageBody>? Messages { get; set; }

    public int? MaxCompletionTokens { get; set; }
}

/// <summary>One chat message; content is a string or a list of <c>{"type": "text", "text": ...}</c> parts.</summary>
internal sealed class ChatMessageBody
{
    public string? Role { get; set; }

    public JsonElement? Content { get; set; }

    /// <summary>The participant's name: read only to refuse a name that is not a string (a served model's prompt does not hold it; the gateway forwards it).</summary>
    public string? Name { get; set; }
}

/// <summary><c>stream_options</c>: <c>include_usage</c> adds a last chunk with the token counts.</summary>
internal sealed class StreamOptions
{
    public bool? IncludeUsage { get; set; }
}

/// <summary>The body of <c>POST /v1/embeddings</c>, as far as ModelMeter reads it; the gateway forwards the whole body.</summary>
internal sealed class EmbeddingsRequest
{
    public string? Model { get; set; }

    /// <summary>A string, a list of strings, a list of token ids, or a list of such lists.</summary>
    public JsonElement? Input { get; set; }

    public string? User { get; set; }
}

/// <summary>The body of <c>POST /v1/responses</c>, as far as ModelMeter reads it; the gateway forwards the whole body.</summary>
internal sealed class ResponsesRequest
{
    public string? Model { get; set; }

    /// <summary>A string, or a list of input items (messages with text, images, files; tool outputs).</summary>
    public JsonElement? Input { get; set; }

    public string? Instructions { get; set; }

    public int? MaxOutputTokens { get; set; }

    public bool? Stream { get; set; }

    public string? User { get; set; }
}
