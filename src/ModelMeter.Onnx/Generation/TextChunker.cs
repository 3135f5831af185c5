using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// Turns generated tokens into text chunks: whole characters only, and text that may still become a stop string held
/// back; the first stop string ends the text (not included).
/// </summary>
internal sealed class TextChunker(OnnxCausalLm model, GenerationRequest request, int promptTokens)
{
    private readonly IReadOnlyList<string> _stops = request.Stop ?? [];

    // Text that may yet become a stop string is not sent: the longest stop string less one character.
    private readonly int _holdBack = request.Stop is { Count: > 0 } stops ? stops.Max(s => s.Length) - 1 : 0;
    private readonly List<int> _generated = new(request.MaxTokens);
    private string _sent = "";

    /// <summary>A stop string was produced: the text is complete.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The chunk this token completes, if any (the last one when a stop string appears).</summary>
    public GenerationChunk? Add(int token)
    {
        _generated.Add(token);
        var text = model.Decode(_generated);
        if (text.EndsWith('\uFFFD') || !text.StartsWith(_sent, StringComparison.Ordinal))
        {
            return null; // an incomplete character: wait for its other bytes
        }

        if (StopAt(text) is { } end)
        {
            Stopped = true;
            return Final(text[..end], "stop");
        }

        var sendable = text.Length - _holdBack;
        if (sendable > 0 && char.IsHighSurrogate(text[sendable - 1]))
        {
            sendable--;
        }

        if (sendable <= _sent.Length)
        {
            return null;
        }

        var chunk = new GenerationChunk(text[_sent.Length..sendable], _generated.Count);
        _sent = text[..sendable];
        return chunk;
    }

    /// <summary>The last chunk after the tokens ran out: the rest of the text, the finish reason and the usage.</summary>
    public GenerationChunk Last()
    {
        var all = model.Decode(_generated);
        var finish = _generated.Count < request.MaxTokens ? "stop" : "length";
        if (StopAt(all) is { } stopAt)
        {
            (all, finish) = (all[..stopAt], "stop");
        }

        return Final(all, finish);
    }

    private GenerationChunk Final(string all, string finish)
    {
        var rest = all.Length > _sent.Length && all.StartsWith(_sent, StringComparison.Ordinal) ? all[_sent.Length..] : "";
        return new GenerationChunk(rest, _generated.Count, finish, new TokenUsage(promptTokens, _generated.Count));
    }

    /// <summary>Where the first stop string starts (searching only where a new one can be), or null.</summary>
    private int? StopAt(string text)
    {
        int? first = null;
        foreach (var stop in _stops)
        {
            var at = text.IndexOf(stop, Math.Max(0, _sent.Length - _holdBack), StringComparison.Ordinal);
            if (at >= 0 && (first is null || at < first))
            {
                first = at;
            }
        }

        return first;
    }
}
