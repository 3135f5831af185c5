using ModelMeter.Pricing;

namespace ModelMeter.Ledger;

/// <summary>Request totals of one report group.</summary>
internal readonly record struct GroupTotals(long Requests, long InputTokens, long OutputTokens, double CostUsd, TokenDetails Details = default)
{
    public GroupTotals Add(long requests, long input, long output, double cost, TokenDetails details = default) =>
        new(Requests + requests, InputTokens + input, OutputTokens + output, CostUsd + cost, Details.Add(details));
}
