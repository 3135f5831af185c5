namespace ModelMeter.AspNetCore.Generate;

/// <summary>The answer of <c>POST /v1/generate/{model}</c>, in the classic setup's shape plus <c>finish_reason</c>.</summary>
internal sealed record GenerateResponse(
    string Model,
    string Text,
    int InputTokens,
    int OutputTokens,
    double LatencySeconds,
    double EstimatedCostUsd,
    string RequestId,
    string FinishReason)
{
    /// <summary>Its share of its device's energy, joules.</summary>
    public double EnergyJ { get; init; }

    /// <summary>The carbon of that energy, grams of CO2e.</summary>
    public double Co2eG { get; init; }
}
