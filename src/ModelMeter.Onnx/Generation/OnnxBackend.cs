using System.Text;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// An ONNX causal language model as a ModelMeter backend: renders chat messages, counts tokens, and streams
/// text as whole characters (a token that ends inside a multi-byte character waits for the next one).
/// </summary>
public sealed class OnnxBackend(OnnxCausalLm model) : IModelBackend, ITokenCounter
{
    /// <summary>The model run by this backend.</summary>
    public OnnxCausalLm Model => model;

    /// <inheritdoc />
    public int? ContextLength => model.ContextLength;

    /// <inheritdoc />
    public int CountTokens(Prompt prompt) => model.Tokenize(Render(prompt)).Count;

    /// <inheritdoc />
    public int CountTokens(string text) => model.Tokenize(text).Count;

    /// <summary>
    /// The text the model continues: a text prompt as it is; chat messages as <c>role: content</c> lines ending with
    /// <c>assistant:</c>. GPT-2-style models have no chat template; a model exported with one would want it applied instead.
    /// </summary>
    public static string Render(Prompt prompt)
    {
        if (prompt.Text is { } text)
        {
            return text;
        }

        var rendered = new StringBuilder();
        foreach (var message in prompt.Messages!)
        {
            rendered.Append(message.Role).Append(": ").Append(message.Content).Append('\n');
        }

        return rendered.Append("assistant:").ToString();
    }

    /// <inheritdoc />
    /// <remarks>Each chunk is computed when it is asked for, on the caller's thread (ONNX Runtime steps are synchronous).</remarks>
    public IAsyncEnumerable<GenerationChunk> GenerateAsync(Prompt prompt, GenerationRequest request, CancellationToken cancellationToken) =>
        Generate(prompt, request, cancellationToken).ToAsyncEnumerable();

    private IEnumerable<GenerationChunk> Generate(Prompt prompt, GenerationRequest request, CancellationToken cancellationToken)
    {
        var promptIds = model.Tokenize(Render(prompt));
        var generated = new List<int>(request.MaxTokens);
        var sent = "";
        foreach (var token in model.GenerateTokens(promptIds, request, cancellationToken))
        {
            generated.Add(token);
            var text = model.Decode(generated);
            if (text.EndsWith('\uFFFD') || text.Length <= sent.Length || !text.StartsWith(sent, StringComparison.Ordinal))
            {
                continue; // an incomplete character: wait for its other bytes
            }

            yield return new GenerationChunk(text[sent.Length..], generated.Count);
            sent = text;
        }

        var all = model.Decode(generated);
        var rest = all.Length > sent.Length && all.StartsWith(sent, StringComparison.Ordinal) ? all[sent.Length..] : "";
        var finish = generated.Count < request.MaxTokens ? "stop" : "length";
        yield return new GenerationChunk(rest, generated.Count, finish, new TokenUsage(promptIds.Count, generated.Count));
    }

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}
