using Microsoft.ML.Tokenizers;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>A gateway model with a tokenizer configured: the context window is checked before forwarding, and missing usage is counted exactly (for that tokenizer).</summary>
internal sealed class CountingGatewayBackend(Upstream upstream, Tokenizer tokenizer, int? contextLength) : OpenAiGatewayBackend(upstream), ITokenCounter
{
    public int? ContextLength => contextLength;

    public int CountTokens(Prompt prompt) => tokenizer.CountTokens(prompt.AllText());

    public int CountTokens(string text) => tokenizer.CountTokens(text);

    protected override TokenUsage Estimate(Prompt prompt, string text, int chunks) =>
        new(CountTokens(prompt), tokenizer.CountTokens(text), Estimated: true);
}
