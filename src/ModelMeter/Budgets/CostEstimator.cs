using System.Collections.Concurrent;

namespace ModelMeter.Budgets;

/// <summary>
/// Estimates a request's cost before it runs, for budget reservations: the model's recent cost per
/// generated token (a moving average) times <c>max_tokens</c>. Until a model has served a request
/// its estimate is zero.
/// </summary>
public sealed class CostEstimator
{
    private const double Weight = 0.2;
    private readonly ConcurrentDictionary<string, double> _usdPerToken = new(StringComparer.Ordinal);

    /// <summary>Starts from long-run figures (the ledger's cost and output tokens per model).</summary>
    public void Seed(string model, double costUsd, long outputTokens)
    {
        if (outputTokens > 0)
        {
            _usdPerToken[model] = costUsd / outputTokens;
        }
    }

    /// <summary>The estimate for up to <paramref name="maxTokens"/> generated tokens, US dollars.</summary>
    public double EstimateUsd(string model, int maxTokens) => _usdPerToken.GetValueOrDefault(model) * maxTokens;

    /// <summary>Learns from a finished request.</summary>
    public void Observe(string model, double costUsd, int outputTokens)
    {
        if (outputTokens <= 0)
        {
            return;
        }

        var sample = costUsd / outputTokens;
        _usdPerToken.AddOrUpdate(model, sample, (_, old) => old + Weight * (sample - old));
    }
}
