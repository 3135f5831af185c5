using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Ledger;
using ModelMeter.Pricing;

namespace ModelMeter.Tests.Ledger;

public sealed class IdleRecorderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Collect_JustAfterARateChange_TheFinishedMinuteCarriesItsOwnRate()
    {
        var time = new FakeTimeProvider(T0);
        var rates = new RateCard([new RatePeriod(DateTimeOffset.MinValue, 3600), new RatePeriod(T0.AddMinutes(1), 7200)]);
        var device = new DeviceAllocator("gpu0", rates, time);
        var recorder = new IdleRecorder([device], time);

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromMilliseconds(50)); // the minute timer fires just after the change
        var row = Assert.Single(recorder.Collect());

        Assert.Equal(T0, row.Minute);
        Assert.Equal(3600, row.HourlyUsd); // the rate of the minute it covers, not of the moment it was written
        Assert.Equal(60 + 0.1, row.CostUsd, 9);
    }
}
