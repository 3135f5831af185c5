using System.Text.Json;
using System.Text.Json.Nodes;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.Serving;

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
    /// <param name="charged">The request's outcome, whose checked counts are written over <c>usage</c>'s (or as <c>usage</c> when the answer has none); null leaves it.</param>
    /// <param name="api">The API the answer belongs to, which names the counts (a Responses API event keeps its response, and usage, under <c>response</c>).</param>
    /// <param name="withoutUsage">Drop <c>usage</c> (a stream event mid-answer: the counts charged are only known at the end, and come in the last event).</param>
    public static JsonNode? Renamed(JsonElement answer, string model, GenerationOutcome? charged = null, RequestApi api = RequestApi.Generation, bool withoutUsage = false)
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

        var target = body;
        if (api == RequestApi.Responses && body["response"] is JsonObject response)
        {
            // An event of a Responses API stream: the response, its model and usage are one level down.
            target = response;
            if (response.ContainsKey("model"))
            {
                response["model"] = model;
            }
        }

        if (withoutUsage)
        {
            target.Remove("usage");
        }
        else if (charged is not null)
        {
            // An answer without usage (or with null) gets ModelMeter's counts: a client of the API relies on usage being there.
            var usage = target["usage"] as JsonObject ?? [];
            WriteCounts(usage, charged, api);
            target["usage"] = usage;
        }

        return node;
    }

    /// <summary>A stream event that carries only usage (no choices), as OpenAI sends last when asked for <c>stream_options.include_usage</c>.</summary>
    public static bool IsUsageOnly(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
        && (!answer.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0);

    /// <summary>A Responses API stream's last event (<c>response.completed</c> or <c>response.incomplete</c>): the one with usage.</summary>
    public static bool IsResponseEnd(JsonElement answer) =>
        answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
        && type.GetString() is "response.completed" or "response.incomplete";

    /// <summary>The charged counts, in the API's names; the details where the upstream gave them or where they are not zero.</summary>
    private static void WriteCounts(JsonObject usage, GenerationOutcome charged, RequestApi api)
    {
        var (input, output, details) = (charged.InputTokens, charged.OutputTokens, charged.Details);
        var (inputName, outputName, inputDetails, outputDetails) = api == RequestApi.Responses
            ? ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
            : ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details");
        usage[inputName] = input;
        if (api != RequestApi.Embeddings)
        {
            usage[outputName] = output;
        }

        usage["total_tokens"] = (long)input + output;
        Detail(usage, inputDetails, "cached_tokens", details.CachedInput);
        Detail(usage, inputDetails, "cache_write_tokens", details.CacheWrite);
        Detail(usage, outputDetails, "reasoning_tokens", details.Reasoning);
    }

    private static void Detail(JsonObject usage, string objectName, string name, long value)
    {
        var details = usage[objectName] as JsonObject;
        if (details is null && value == 0)
        {
            return;
        }

        if (details is null)
        {
            details = [];
            usage[objectName] = details;
        }

        if (value != 0 || details.ContainsKey(name))
        {
            details[name] = value;
        }
    }
}
