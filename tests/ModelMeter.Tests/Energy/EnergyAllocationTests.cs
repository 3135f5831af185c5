using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Energy;
using ModelMeter.Pricing;

namespace ModelMeter.Tests.Energy;

/// <summary>A device's energy and carbon are split among its requests exactly as its dollars are.</summary>
public sealed class EnergyAllocationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void EstimatedPower_SharedLikeDollars_RequestsPlusIdleIsTheDevicesEnergy()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("cpu", RateCard.Flat(3600), time, energy: new EstimatedPower(IdleWatts: 10, BusyWatts: 50), grid: GridIntensity.Flat(400));

        time.Advance(TimeSpan.FromSeconds(2)); // idle: 2 s × 10 W
        var a = device.Start();
        time.Advance(TimeSpan.FromSeconds(1)); // a alone: 1 s × 50 W
        var b = device.Start();
        time.Advance(TimeSpan.FromSeconds(2)); // a and b: 2 s × 50 W, half each
        var aShare = device.End(a);
        time.Advance(TimeSpan.FromSeconds(1)); // b alone: 1 s × 50 W
        var bShare = device.End(b);
        time.Advance(TimeSpan.FromSeconds(3)); // idle: 3 s × 10 W
        var account = device.Snapshot();

        Assert.Equal(50 + 50, aShare.Joules, 9);
        Assert.Equal(50 + 50, bShare.Joules, 9);
        Assert.Equal(10 * 5, account.Idle.Joules, 9);
        Assert.Equal(10 * 5 + 50 * 4, account.Bill.Joules, 9); // idle W × idle time + busy W × busy time
        Assert.Equal(account.Bill.Joules, aShare.Joules + bShare.Joules + account.Idle.Joules, 9);
        Assert.Equal(100 / GridIntensity.JoulesPerKwh * 400, aShare.Co2eGrams, 12);
        Assert.Equal(account.Bill.Joules / GridIntensity.JoulesPerKwh * 400, account.Bill.Co2eGrams, 12);
        Assert.Equal(9.0, account.BillUsd, 9); // dollars unchanged: 9 s at 1 USD a second
        Assert.Equal(account.BillUsd, account.Bill.Usd);
    }

    [Fact]
    public void GridIntensity_EffectiveDated_EnergyTakesTheFigureInForceWhenItIsUsed()
    {
        var time = new FakeTimeProvider(T0);
        var grid = new GridIntensity([(T0, 400), (T0.AddSeconds(10), 100)]);
        var device = new DeviceAllocator("cpu", RateCard.Flat(0), time, energy: new EstimatedPower(36, 36), grid: grid);

        time.Advance(TimeSpan.FromSeconds(5));
        var before = device.Snapshot().Bill.Co2eGrams;
        time.Advance(TimeSpan.FromSeconds(10));
        var ticket = device.Start(); // 5 s at 400 read before, 10 s read now (at 100)
        var after = device.Snapshot().Bill.Co2eGrams;

        Assert.Equal(36 * 5 / GridIntensity.JoulesPerKwh * 400, before, 12);
        Assert.Equal(before + 36 * 10 / GridIntensity.JoulesPerKwh * 100, after, 12);
        device.End(ticket);
    }

    [Fact]
    public void GridIntensity_FirstFigureAfterTheDeviceStarts_CarbonFollowsEachFigureInTurn()
    {
        var time = new FakeTimeProvider(T0);
        var grid = new GridIntensity([(T0.AddSeconds(10), 400), (T0.AddSeconds(20), 100), (T0.AddSeconds(30), 200)]);
        var device = new DeviceAllocator("cpu", RateCard.Flat(0), time, energy: new EstimatedPower(36, 36), grid: grid);

        var grams = new List<double>();
        for (var second = 5; second <= 35; second += 10)
        {
            time.Advance(TimeSpan.FromSeconds(second == 5 ? 5 : 10));
            grams.Add(device.Snapshot().Bill.Co2eGrams);
        }

        // Each reading turns the energy since the last one into carbon at the figure in force at the reading.
        const double joules10 = 36 * 10 / GridIntensity.JoulesPerKwh;
        Assert.Equal(0, grams[0]); // before the first figure
        Assert.Equal(joules10 * 400, grams[1] - grams[0], 12);
        Assert.Equal(joules10 * 100, grams[2] - grams[1], 12);
        Assert.Equal(joules10 * 200, grams[3] - grams[2], 12);
    }

    [Fact]
    public void ManyRequestsAtOnce_EnergyAddsUpExactly_ToRounding()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(7), time, energy: new EstimatedPower(60, 350), grid: GridIntensity.Flat(250));
        var random = new Random(7);
        var open = new List<AllocationTicket>();
        var finished = default(DeviceShare);
        for (var step = 0; step < 2000; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 50)));
            if (open.Count > 0 && random.Next(3) == 0)
            {
                var i = random.Next(open.Count);
                finished += device.End(open[i]);
                open.RemoveAt(i);
            }
            else
            {
                open.Add(device.Start());
            }
        }

        foreach (var ticket in open)
        {
            finished += device.End(ticket);
        }

        var account = device.Snapshot();
        Assert.Equal(account.Bill.Joules, finished.Joules + account.Idle.Joules, 6);
        Assert.Equal(account.Bill.Co2eGrams, finished.Co2eGrams + account.Idle.Co2eGrams, 9);
        Assert.Equal(account.Bill.Usd, finished.Usd + account.Idle.Usd, 9);
    }

    [Fact]
    public void WithoutAnEnergySource_NoJoules()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("cpu", RateCard.Flat(3600), time);
        var ticket = device.Start();
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(default, device.End(ticket) with { Usd = 0 });
    }
}
