namespace ModelMeter.Server.Endpoints;

/// <summary>The generation fields every route accepts, as the client sent them (null when absent).</summary>
/// <param name="Prompt">The text to continue (already rendered from messages for chat).</param>
/// <param name="MaxTokens">Tokens to generate at most.</param>
/// <param name="Temperature">0 for greedy; above 0 samples.</param>
/// <param name="TopP">Nucleus sampling mass.</param>
/// <param name="Seed">Sampling seed.</param>
/// <param name="User">The end user, for the ledger.</param>
/// <param name="PromptField">The field to name when the prompt is wrong (<c>prompt</c>, <c>messages</c>).</param>
/// <param name="MaxTokensField">The field to name when the token limit is wrong.</param>
internal sealed record GenerationInput(
    string? Prompt, int? MaxTokens, double? Temperature, double? TopP, int? Seed, string? User,
    string PromptField = "prompt", string MaxTokensField = "max_tokens");
