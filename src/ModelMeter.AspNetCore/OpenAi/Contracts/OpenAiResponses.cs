using System.Text.Json.Serialization;

namespace ModelMeter.AspNetCore.OpenAi.Contracts;

/// <summary><c>usage</c>: token counts of a request.</summary>
internal sealed record Usage(int PromptTokens, int CompletionTokens, long TotalTokens)
{
    public static Usage Of(int promptTokens, int completionTokens) => new(promptTokens, completionTokens, (long)promptTokens + completionTokens);
}

/// <summary>A chat completion, or (with <c>object = chat.completion.chunk</c> and deltas) one chunk of its stream.</summary>
internal sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, Usage? Usage);

/// <summary>One chat choice: <see cref="Message"/> in a whole answer, <see cref="Delta"/> in a stream chunk.</summary>
internal sealed record ChatChoice(
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AssistantMessage? Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] AssistantMessage? Delta,
    object? Logprobs,
    string? FinishReason);

/// <summary>The assistant's message (or a delta of it; the role only on a stream's first chunk).</summary>
internal sealed record AssistantMessage([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role, string Content);

/// <summary>A text completion, or one chunk of its stream (same shape).</summary>
internal sealed record TextCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<TextChoice> Choices, Usage? Usage);

/// <summary>One completion choice.</summary>
internal sealed record TextChoice(int Index, string Text, object? Logprobs, string? FinishReason);

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed record ErrorResponse(ErrorDetail Error);

/// <summary>The inside of <see cref="ErrorResponse"/>.</summary>
internal sealed record ErrorDetail(string Message, string Type, string? Param, string? Code);

/// <summary><c>GET /v1/models</c>.</summary>
internal sealed record ModelList(string Object, IReadOnlyList<ModelEntry> Data);

/// <summary>One model of <see cref="ModelList"/>, with ModelMeter's extras (device, backend, readiness).</summary>
internal sealed record ModelEntry(string Id, string Object, long Created, string OwnedBy, string? Device, string Backend, bool Ready)
{
    /// <summary>True for a model that could not be loaded at start (not ready for good, unlike one still loading); absent otherwise.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public bool? LoadFailed { get; init; }
}

/// <summary>
/// Any answer an OpenAI-compatible server gives (whole or a stream chunk, chat or text), read loosely by the gateway:
/// the text is in <c>choices[0].message.content</c>, <c>.delta.content</c> or <c>.text</c>.
/// </summary>
internal sealed class UpstreamAnswer
{
    public List<UpstreamChoice>? Choices { get; set; }

    /// <summary>Kept as sent: its counts are checked by <c>UpstreamUsage</c>, never trusted.</summary>
    public System.Text.Json.JsonElement? Usage { get; set; }

    /// <summary>An error object (or, in a Responses API <c>error</c> event, a code string), kept as sent.</summary>
    public System.Text.Json.JsonElement? Error { get; set; }

    /// <summary>A Responses API event's type (<c>response.output_text.delta</c>, <c>response.completed</c>, <c>error</c>, ...).</summary>
    public string? Type { get; set; }

    /// <summary>A Responses API event's text (<c>response.output_text.delta</c>), kept as sent (other events' deltas are not text).</summary>
    public System.Text.Json.JsonElement? Delta { get; set; }

    /// <summary>A Responses API event's message (<c>error</c>).</summary>
    public string? Message { get; set; }

    /// <summary>The response a Responses API stream event carries (its <c>usage</c> on <c>response.completed</c>).</summary>
    public UpstreamAnswer? Response { get; set; }
}

/// <summary>One choice of <see cref="UpstreamAnswer"/>.</summary>
internal sealed class UpstreamChoice
{
    public string? Text { get; set; }

    public UpstreamMessage? Message { get; set; }

    public UpstreamMessage? Delta { get; set; }

    public string? FinishReason { get; set; }

    public string TextOf() => Message?.Content ?? Delta?.Content ?? Text ?? "";
}

/// <summary>A message or delta in <see cref="UpstreamChoice"/>.</summary>
internal sealed class UpstreamMessage
{
    public string? Content { get; set; }
}
