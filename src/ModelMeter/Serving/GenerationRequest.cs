namespace ModelMeter.Serving;

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">Most tokens to generate, at least 1.</param>
/// <param name="Temperature">0 (the default) picks the most likely token; above 0 samples with this temperature.</param>
/// <param name="TopP">Nucleus sampling: sample only from the most likely tokens whose probabilities add up to this (0, 1]. Default 1.</param>
/// <param name="Seed">Makes sampling repeatable; null draws a fresh seed.</param>
public sealed record GenerationRequest(int MaxTokens, double Temperature = 0, double TopP = 1, int? Seed = null);
