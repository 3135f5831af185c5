using ModelMeter.Energy;

namespace ModelMeter.Tests.Energy;

/// <summary>The NVML energy path against a fake counter: steps, stalls, a reset, an unsupported call, failed readings.</summary>
public sealed class CounterEnergyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private ulong? _millijoules = 1_000_000;
    private uint? _milliwatts = 118_000;

    private CounterEnergy Source() => new(() => _millijoules, () => _milliwatts);

    [Fact]
    public void Steps_TheirJoulesAreHandedOut_AndTheTotalFollowsTheCounter()
    {
        var source = Source();
        Assert.Equal(0, source.JoulesBetween(T0.AddSeconds(-1), T0, busy: false)); // the first reading: counting starts

        var total = 0.0;
        for (var step = 1; step <= 10; step++)
        {
            _millijoules += 11_800; // 118 W for 100 ms
            total += source.JoulesBetween(T0.AddMilliseconds(100 * (step - 1)), T0.AddMilliseconds(100 * step), busy: true);
        }

        Assert.Equal(118, total, 9);
    }

    [Fact]
    public void BetweenSteps_EnergyIsCarriedForward_ThenCorrected_NeverAheadByMoreThanTwoSteps()
    {
        var source = Source();
        source.JoulesBetween(T0.AddSeconds(-1), T0, false);
        _millijoules += 10_000;
        Assert.Equal(10, source.JoulesBetween(T0, T0.AddMilliseconds(100), true), 9); // a step: 100 W

        // Three readings 20 ms apart before the next step: carried forward at 100 W.
        var carried = 0.0;
        for (var i = 1; i <= 3; i++)
        {
            carried += source.JoulesBetween(T0.AddMilliseconds(100 + 20 * (i - 1)), T0.AddMilliseconds(100 + 20 * i), true);
        }

        Assert.Equal(6, carried, 9);

        // The counter stalls for a second: at most 0.2 s of the last power is handed out ahead of it.
        var stalled = source.JoulesBetween(T0.AddMilliseconds(160), T0.AddMilliseconds(1160), true);
        Assert.Equal(20 - 6, stalled, 9);

        // The next step corrects: what was handed out ahead is taken from it.
        _millijoules += 30_000;
        Assert.Equal(30 - 20, source.JoulesBetween(T0.AddMilliseconds(1160), T0.AddMilliseconds(1200), true), 9);
    }

    [Fact]
    public void ACounterThatGoesDown_StartsAfresh_NothingNegative()
    {
        var source = Source();
        source.JoulesBetween(T0.AddSeconds(-1), T0, false);
        _millijoules += 5_000;
        Assert.Equal(5, source.JoulesBetween(T0, T0.AddSeconds(1), true), 9);

        _millijoules = 200; // the driver was reloaded
        Assert.Equal(0, source.JoulesBetween(T0.AddSeconds(1), T0.AddSeconds(2), true));
        _millijoules += 3_000;
        Assert.Equal(3, source.JoulesBetween(T0.AddSeconds(2), T0.AddSeconds(3), true), 9);
    }

    [Fact]
    public void AnUnsupportedCounter_PowerIsIntegrated()
    {
        _millijoules = null;
        var source = Source();

        Assert.Equal(118 * 2.5, source.JoulesBetween(T0, T0.AddSeconds(2.5), true), 9);
        Assert.False(source.UsesCounter);
        _milliwatts = null; // a failed power reading adds nothing
        Assert.Equal(0, source.JoulesBetween(T0.AddSeconds(2.5), T0.AddSeconds(3), true));
    }

    [Fact]
    public void AFailedCounterReading_IsCoveredByTheNextGoodOne()
    {
        var source = Source();
        source.JoulesBetween(T0.AddSeconds(-1), T0, false);
        _millijoules += 10_000;
        source.JoulesBetween(T0, T0.AddMilliseconds(100), true);
        var before = _millijoules;
        _millijoules = null;
        var duringFailure = source.JoulesBetween(T0.AddMilliseconds(100), T0.AddMilliseconds(500), true);
        _millijoules = before + 40_000;
        var after = source.JoulesBetween(T0.AddMilliseconds(500), T0.AddMilliseconds(600), true);

        Assert.Equal(40, duringFailure + after, 9);
        Assert.True(source.UsesCounter);
    }
}
