using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>How a generation ended: its text and counts, what it cost, or why it failed. No HTTP in it.</summary>
/// <param name="RequestId">The request's id, made once by the pipeline.</param>
/// <param name="Model">The model.</param>
/// <param name="Error">Why it failed; null when it succeeded.</param>
public sealed record GenerationOutcome(string RequestId, string Model, GenerationError? Error)
{
    /// <summary>The whole generated text.</summary>
    public string Text { get; init; } = "";

    /// <summary><c>stop</c> or <c>length</c>.</summary>
    public string? FinishReason { get; init; }

    /// <summary>Prompt tokens.</summary>
    public int InputTokens { get; init; }

    /// <summary>Generated tokens.</summary>
    public int OutputTokens { get; init; }

    /// <summary>The cached, cache-written and reasoning parts of the counts (a paid API's, checked).</summary>
    public Pricing.TokenDetails Details { get; init; }

    /// <summary>Whether the counts were estimated because the backend reported none.</summary>
    public bool UsageEstimated { get; init; }

    /// <summary>What the request cost (zero when refused before running).</summary>
    public RequestCharge Charge { get; init; }

    /// <summary>Whether the observer was given at least one chunk (a stream has started, so its status is sent).</summary>
    public bool Started { get; init; }

    /// <summary>A gateway's whole answer as the upstream sent it (not streamed), to pass on as it came; null otherwise.</summary>
    public System.Text.Json.JsonElement? Relayed { get; init; }

}
