using System.Collections.Concurrent;

namespace ModelMeter.Budgets;

/// <summary>
/// Estimates a request's cost before it runs, for budget reservations: the recent cost per generated token (a moving
/// average) times <c>max_tokens</c>. Each tenant has its own average per model, so one tenant's requests cannot move
/// another's reservations; a tenant with no history of its own gets the model's long-run figure from the ledger, or
/// else the median of the tenants' averages (one vote each). Requests that produced almost no output teach nothing:
/// their cost per token is queueing and prompt, not generation. Until a model has served a request its estimate is zero.
/// </summary>
public sealed class CostEstimator
{
    /// <summary>Requests with fewer output tokens than this are not learned from.</summary>
    public const int MinOutputTokensToLearn = 4;

    private const double Weight = 0.2;
    private readonly ConcurrentDictionary<string, double> _seeded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Model, string Tenant), double> _usdPerToken = new();

    /// <summary>Starts from long-run figures (the ledger's cost and output tokens per model).</summary>
    public void Seed(string model, double costUsd, long outputTokens)
    {
        if (outputTokens > 0 && double.IsFinite(costUsd) && costUsd >= 0)
        {
            _seeded[model] = costUsd / outputTokens;
        }
    }

    /// <summary>The estimate for up to <paramref name="maxTokens"/> generated tokens by <paramref name="tenant"/>, US dollars.</summary>
    public double EstimateUsd(string model, string tenant, int maxTokens) => UsdPerToken(model, tenant) * maxTokens;

    /// <summary>Learns from a finished request of <paramref name="tenant"/>.</summary>
    public void Observe(string model, string tenant, double costUsd, int outputTokens)
    {
        if (outputTokens < MinOutputTokensToLearn || !double.IsFinite(costUsd) || costUsd < 0)
        {
            return;
        }

        var sample = costUsd / outputTokens;
        _usdPerToken.AddOrUpdate((model, tenant), sample, (_, old) => old + Weight * (sample - old));
    }

    private double UsdPerToken(string model, string tenant)
    {
        if (_usdPerToken.TryGetValue((model, tenant), out var own))
        {
            return own;
        }

        if (_seeded.TryGetValue(model, out var seeded))
        {
            return seeded;
        }

        var tenants = _usdPerToken.Where(e => e.Key.Model == model).Select(e => e.Value).Order().ToArray();
        return tenants.Length == 0 ? 0 : tenants[tenants.Length / 2];
    }
}
