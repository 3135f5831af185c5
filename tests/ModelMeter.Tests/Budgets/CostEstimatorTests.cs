using ModelMeter.Budgets;

namespace ModelMeter.Tests.Budgets;

public sealed class CostEstimatorTests
{
    [Fact]
    public void Observe_OneTenantsSlowOneTokenRequests_DoNotMoveAnotherTenantsEstimate()
    {
        var estimator = new CostEstimator();
        for (var i = 0; i < 5; i++)
        {
            estimator.Observe("m", "honest", costUsd: 0.01, outputTokens: 10); // 0.001 per token
        }

        for (var i = 0; i < 5; i++)
        {
            estimator.Observe("m", "poisoner", costUsd: 50, outputTokens: 1); // 50 per token, had it been learned
        }

        Assert.Equal(0.1, estimator.EstimateUsd("m", "honest", 100), 12);
        Assert.Equal(0.1, estimator.EstimateUsd("m", "newcomer", 100), 12); // the median of tenants that taught something
    }

    [Fact]
    public void Observe_ATenantsOwnHistory_MovesOnlyItsOwnEstimate()
    {
        var estimator = new CostEstimator();
        estimator.Seed("m", costUsd: 1, outputTokens: 1000); // 0.001 per token from the ledger
        estimator.Observe("m", "heavy", costUsd: 10, outputTokens: 10); // 1 per token: its own

        Assert.Equal(1 * 100, estimator.EstimateUsd("m", "heavy", 100), 9);
        Assert.Equal(0.001 * 100, estimator.EstimateUsd("m", "light", 100), 12); // the seed, not the heavy tenant
        Assert.Equal(0, estimator.EstimateUsd("other", "light", 100));
    }

    [Fact]
    public void Observe_MovingAverage_FollowsNewSamplesByAFifth()
    {
        var estimator = new CostEstimator();
        estimator.Observe("m", "t", costUsd: 1, outputTokens: 10);
        estimator.Observe("m", "t", costUsd: 2, outputTokens: 10);

        Assert.Equal((0.1 + 0.2 * (0.2 - 0.1)) * 10, estimator.EstimateUsd("m", "t", 10), 12);
    }

    [Theory]
    [InlineData(-1.0, 10)]
    [InlineData(double.NaN, 10)]
    [InlineData(1.0, 3)]
    public void Observe_NegativeNaNOrAlmostNoOutput_TeachesNothing(double costUsd, int outputTokens)
    {
        var estimator = new CostEstimator();
        estimator.Observe("m", "t", costUsd, outputTokens);

        Assert.Equal(0, estimator.EstimateUsd("m", "t", 10));
    }
}
