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
        var stops = request.Stop ?? [];
        var holdBack = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1; // text that may yet become a stop string is not sent
        var generated = new List<int>(request.MaxTokens);
        var sent = "";
        foreach (var token in model.GenerateTokens(promptIds, request, cancellationToken))
        {
            generated.Add(token);
            var text = model.Decode(generated);
            if (text.EndsWith('\uFFFD') || !text.StartsWith(sent, StringComparison.Ordinal))
            {
                continue; // an incomplete character: wait for its other bytes
            }

            if (StopAt(text, stops, sent.Length - holdBack) is { } end)
            {
                yield return Last(text[..end], sent, generated.Count, "stop", promptIds.Count);
                yield break;
            }

            var sendable = text.Length - holdBack;
            if (sendable > 0 && char.IsHighSurrogate(text[sendable - 1]))
            {
                sendable--;
            }

            if (sendable > sent.Length)
            {
                yield return new GenerationChunk(text[sent.Length..sendable], generated.Count);
                sent = text[..sendable];
            }
        }

        var all = model.Decode(generated);
        var finish = generated.Count < request.MaxTokens ? "stop" : "length";
        if (StopAt(all, stops, sent.Length - holdBack) is { } stopAt)
        {
            (all, finish) = (all[..stopAt], "stop");
        }

        yield return Last(all, sent, generated.Count, finish, promptIds.Count);
    }

    private static GenerationChunk Last(string all, string sent, int outputTokens, string finish, int inputTokens)
    {
        var rest = all.Length > sent.Length && all.StartsWith(sent, StringComparison.Ordinal) ? all[sent.Length..] : "";
        return new GenerationChunk(rest, outputTokens, finish, new TokenUsage(inputTokens, outputTokens));
    }

    /// <summary>Where the first stop string starts in <paramref name="text"/> (searching from <paramref name="from"/>), or null.</summary>
    private static int? StopAt(string text, IReadOnlyList<string> stops, int from)
    {
        int? first = null;
        foreach (var stop in stops)
        {
            var at = text.IndexOf(stop, Math.Max(0, from), StringComparison.Ordinal);
            if (at >= 0 && (first is null || at < first))
            {
                first = at;
            }
        }

        return first;
    }

    /// <inheritdoc />
    public void Dispose() => model.Dispose();
}
