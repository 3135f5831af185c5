using ModelMeter.Pricing;

namespace ModelMeter.Ledger;

/// <summary>Request totals of one report group.</summary>
internal readonly record struct GroupTotals(long Requests, long InputTokens, long OutputTokens, double CostUsd, TokenDetails Details = default, double EnergyJoules = 0, double Co2eGrams = 0)
{
    public GroupTotals Add(long requests, long input, long output, double cost, TokenDetails details = default, double joules = 0, double grams = 0) =>
        new(Requests + requests, InputTokens + input, OutputTokens + output, CostUsd + cost, Details.Add(details), EnergyJoules + joules, Co2eGrams + grams);
}
