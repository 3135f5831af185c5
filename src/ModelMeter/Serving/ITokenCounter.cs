namespace ModelMeter.Serving;

/// <summary>A backend's optional capability: counting tokens before generating.</summary>
public interface ITokenCounter
{
    /// <summary>The most tokens (prompt plus generated) one request may hold; null when unknown.</summary>
    int? ContextLength { get; }

    /// <summary>How many tokens <paramref name="prompt"/> takes, as this backend will feed it to its model.</summary>
    int CountTokens(Prompt prompt);

    /// <summary>How many tokens <paramref name="text"/> is.</summary>
    int CountTokens(string text);
}
