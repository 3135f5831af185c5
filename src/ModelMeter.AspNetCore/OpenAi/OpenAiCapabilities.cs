using System.Text.Json;
using ModelMeter.AspNetCore.Generation;

namespace ModelMeter.AspNetCore.OpenAi;

/// <summary>
/// What a model that runs here (not a gateway) cannot do: function calling, structured output, log probabilities,
/// several choices, repetition penalties, token biases, echo and suffix. Asking for one is a 400 naming the field, never a silent 200 without it.
/// </summary>
internal static class OpenAiCapabilities
{
    /// <summary>The first field of <paramref name="fields"/> a local model cannot honour, as an error naming it; null when there is none.</summary>
    public static GenerationError? Unsupported(IReadOnlyDictionary<string, JsonElement> fields)
    {
        foreach (var name in new[] { "tools", "functions" })
        {
            if (Given(fields, name))
            {
                return Refuse(name, $"{name}: this model runs in ModelMeter and cannot call tools. Function calling works through a gateway model (\"Backend\": \"OpenAI\").");
            }
        }

        foreach (var name in new[] { "tool_choice", "function_call", "parallel_tool_calls" })
        {
            if (Given(fields, name) && !(fields[name].ValueKind == JsonValueKind.String && fields[name].GetString() == "none"))
            {
                return Refuse(name, $"{name}: this model runs in ModelMeter and cannot call tools.");
            }
        }

        if (fields.TryGetValue("response_format", out var format) && format.ValueKind == JsonValueKind.Object
            && !(format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"))
        {
            return Refuse("response_format", "response_format: this model runs in ModelMeter and produces plain text only; JSON mode and schemas work through a gateway model.");
        }

        if (fields.TryGetValue("logprobs", out var logprobs) && logprobs.ValueKind is JsonValueKind.True or JsonValueKind.Number)
        {
            return Refuse("logprobs", "logprobs: this model runs in ModelMeter and does not return log probabilities.");
        }

        if (Given(fields, "top_logprobs"))
        {
            return Refuse("top_logprobs", "top_logprobs: this model runs in ModelMeter and does not return log probabilities.");
        }

        foreach (var name in new[] { "frequency_penalty", "presence_penalty" })
        {
            if (Given(fields, name) && !IsNumber(fields[name], 0))
            {
                return Refuse(name, $"{name} is {fields[name]}; a model that runs in ModelMeter samples without repetition penalties (0 or leaving it out is fine; a gateway model forwards it).");
            }
        }

        if (fields.TryGetValue("logit_bias", out var bias) && !(bias.ValueKind is JsonValueKind.Null || (bias.ValueKind == JsonValueKind.Object && !bias.EnumerateObject().Any())))
        {
            return Refuse("logit_bias", "logit_bias: a model that runs in ModelMeter does not bias tokens (a gateway model forwards it).");
        }

        if (fields.TryGetValue("echo", out var echo) && echo.ValueKind == JsonValueKind.True)
        {
            return Refuse("echo", "echo: a model that runs in ModelMeter returns the completion only, not the prompt before it.");
        }

        if (Given(fields, "best_of") && !IsNumber(fields["best_of"], 1))
        {
            return Refuse("best_of", $"best_of is {fields["best_of"]}; a model that runs in ModelMeter generates one completion per request.");
        }

        if (fields.TryGetValue("suffix", out var suffix) && !(suffix.ValueKind is JsonValueKind.Null || (suffix.ValueKind == JsonValueKind.String && suffix.GetString()!.Length == 0)))
        {
            return Refuse("suffix", "suffix: a model that runs in ModelMeter completes after the prompt only; it does not fill in before a suffix.");
        }

        if (Given(fields, "audio") || (fields.TryGetValue("modalities", out var modalities) && modalities.ValueKind == JsonValueKind.Array
            && modalities.EnumerateArray().Any(m => !(m.ValueKind == JsonValueKind.String && m.GetString() == "text"))))
        {
            var field = Given(fields, "audio") ? "audio" : "modalities";
            return Refuse(field, $"{field}: a model that runs in ModelMeter answers in text only (a gateway model forwards it).");
        }

        if (Given(fields, "web_search_options"))
        {
            return Refuse("web_search_options", "web_search_options: a model that runs in ModelMeter cannot search the web (a gateway model forwards it).");
        }

        if (fields.TryGetValue("n", out var n) && n.ValueKind == JsonValueKind.Number && (!n.TryGetInt32(out var count) || count != 1))
        {
            return Refuse("n", $"n is {n}; a model that runs in ModelMeter generates one choice per request (a gateway model forwards n).");
        }

        return null;
    }

    /// <summary>Present with a value: not null, and not an empty list.</summary>
    private static bool Given(IReadOnlyDictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
        && !(value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0);

    /// <summary>A JSON number equal to <paramref name="value"/> (the default of an option, which asks for nothing).</summary>
    private static bool IsNumber(JsonElement element, double value) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number) && number == value;

    private static GenerationError Refuse(string field, string message) => new(GenerationErrorKind.InvalidField, message, field);
}
