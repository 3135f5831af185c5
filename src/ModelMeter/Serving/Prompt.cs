namespace ModelMeter.Serving;

/// <summary>What to continue: plain text, or chat messages that the backend renders its own way (or forwards as they are).</summary>
public sealed record Prompt
{
    private Prompt(string? text, IReadOnlyList<ChatMessage>? messages)
    {
        Text = text;
        Messages = messages;
    }

    /// <summary>The text to continue, or null for a chat prompt.</summary>
    public string? Text { get; }

    /// <summary>The chat messages, or null for a text prompt.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; }

    /// <summary>Whether this is a chat prompt.</summary>
    public bool IsChat => Messages is not null;

    /// <summary>A text prompt.</summary>
    public static Prompt FromText(string text) => new(text ?? throw new ArgumentNullException(nameof(text)), null);

    /// <summary>A chat prompt.</summary>
    public static Prompt FromMessages(IReadOnlyList<ChatMessage> messages) => new(null, messages ?? throw new ArgumentNullException(nameof(messages)));

    /// <summary>All of the prompt's text, for rough counting: the text, or every message's content.</summary>
    public string AllText() => Text ?? string.Join('\n', Messages!.Select(m => m.Content));
}
