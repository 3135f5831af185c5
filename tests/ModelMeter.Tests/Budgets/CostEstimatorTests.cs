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

    [Fact]
    public void Seed_AFreeModel_IsSeededAtZero_NotGuessedFromTenants()
    {
        var estimator = new CostEstimator();
        estimator.Observe("m", "other", costUsd: 10, outputTokens: 10);
        estimator.Seed("m", costUsd: 0, outputTokens: 100);

        Assert.Equal(0, estimator.EstimateUsd("m", "newcomer", 100));
    }

    [Theory]
    [InlineData(5.0, 0)]
    [InlineData(-5.0, 100)]
    [InlineData(double.PositiveInfinity, 100)]
    public void Seed_NoTokensOrNoCost_IsIgnored(double costUsd, long outputTokens)
    {
        var estimator = new CostEstimator();
        estimator.Observe("m", "other", costUsd: 10, outputTokens: 10); // 1 per token

        estimator.Seed("m", costUsd, outputTokens);

        Assert.Equal(100, estimator.EstimateUsd("m", "newcomer", 100)); // the tenants' figure, not a broken seed
    }

    [Fact]
    public void Observe_ExactlyTheMinimumOutput_AndAFreeRequest_AreLearned()
    {
        var estimator = new CostEstimator();
        estimator.Observe("m", "t", costUsd: 0.4, outputTokens: CostEstimator.MinOutputTokensToLearn);
        estimator.Observe("m", "free", costUsd: 0, outputTokens: 10);

        Assert.Equal(10, estimator.EstimateUsd("m", "t", 100), 9);
        Assert.Equal(0, estimator.EstimateUsd("m", "free", 100));
    }

    [Fact]
    public void Estimate_NewTenantBetweenTwo_TakesTheHigherOne()
    {
        // With an even number of tenants the median is the upper middle: a reservation errs towards holding more.
        var estimator = new CostEstimator();
        estimator.Observe("m", "cheap", costUsd: 1, outputTokens: 10);
        estimator.Observe("m", "dear", costUsd: 10, outputTokens: 10);

        Assert.Equal(100, estimator.EstimateUsd("m", "newcomer", 100), 9);
    }
}
