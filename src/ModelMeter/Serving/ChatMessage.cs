namespace ModelMeter.Serving;

/// <summary>One chat message, as in OpenAI's chat API.</summary>
/// <param name="Role"><c>system</c>, <c>developer</c>, <c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Content">The message's text.</param>
public sealed record ChatMessage(string Role, string Content);
