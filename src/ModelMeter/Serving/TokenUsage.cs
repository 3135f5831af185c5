namespace ModelMeter.Serving;

/// <summary>Token counts of a whole request.</summary>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
/// <param name="Estimated">True when counted by ModelMeter (a tokenizer or a rough rule) because the backend gave no counts.</param>
public sealed record TokenUsage(int InputTokens, int OutputTokens, bool Estimated = false);
