using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>
/// An upstream's answer passed on as it came, with the changes the client must see: its own name for the model, and in
/// <c>usage</c> the token counts it is charged for (the upstream's, once checked; its other usage fields stay).
/// </summary>
internal static class UpstreamAnswers
{
    /// <summary><paramref name="answer"/> with <c>model</c> set to <paramref name="model"/> (an answer that is not an object is passed on untouched).</summary>
    /// <param name="answer">The upstream's answer or stream event.</param>
    /// <param name="model">The client's name for the model.</param>
    /// <param name="charged">The checked counts, written over <c>usage</c>'s (or as <c>usage</c> when the answer has none); null leaves it.</param>
    /// <param name="withoutUsage">Drop <c>usage</c> (a stream event mid-answer: the counts charged are only known at the end, and come in the last event).</param>
    public static JsonNode? Renamed(JsonElement answer, string model, (int Input, int Output)? charged = null, bool withoutUsage = false)
    {
        var node = JsonNode.Parse(answer.GetRawText());
        if (node is not JsonObject body)
        {
            return node;
        }

        if (body.ContainsKey("model"))
        {
            body["model"] = model;
        }

        if (withoutUsage)
        {
            body.Remove("usage");
        }
        else if (charged is { } counts)
        {
            // An answer without usage (or with null) gets ModelMeter's counts: a client of the API relies on usage being there.
            var usage = body["usage"] as JsonObject ?? [];
            usage["prompt_tokens"] = counts.Input;
            usage["completion_tokens"] = counts.Output;
            usage["total_tokens"] = (long)counts.Input + counts.Output;
            body["usage"] = usage;
        }

        return node;
    }

    /// <summary>A stream event that carries only usage (no choices), as OpenAI sends last when asked for <c>stream_options.include_usage</c>.</summary>
    public static bool IsUsageOnly(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
        && (!answer.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0);
}
