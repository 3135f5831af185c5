using System.Text.Json;

namespace ModelMeter.Serving;

/// <summary>A piece of a generation as a backend streams it.</summary>
/// <param name="Text">New text since the last chunk (may be empty).</param>
/// <param name="OutputTokens">Tokens generated so far, as far as the backend knows (an estimate for gateways until <see cref="Usage"/> comes).</param>
/// <param name="FinishReason"><c>stop</c> or <c>length</c> on the last text chunk; null before.</param>
/// <param name="Usage">The final token counts, on the last chunk (or a chunk of its own) when the backend knows them.</param>
public sealed record GenerationChunk(string Text, int OutputTokens, string? FinishReason = null, TokenUsage? Usage = null)
{
    /// <summary>
    /// The upstream's own JSON for this piece (one event of a stream, or the whole answer), for a route that passes it on
    /// as it came (tool calls, log probabilities, several choices, fields ModelMeter does not know); null from local backends.
    /// </summary>
    public JsonElement? Relayed { get; init; }
}
