using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Pricing;

namespace ModelMeter.Tests.Allocation;

public sealed class DeviceAllocatorTests
{
    // 3600 USD/h is 1 USD/s: costs read as seconds.
    private const double DollarPerSecond = 3600;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Start_AtTheInstantANewRateBegins_TakesTheNewRate()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("gpu0", new RateCard([new RatePeriod(T0, 3600), new RatePeriod(T0.AddHours(1), 7200)]), time);
        time.Advance(TimeSpan.FromHours(1));

        var ticket = device.Start();

        Assert.Equal((7200.0, 1), (device.Rates.HourlyUsdOf(ticket.RateVersion), ticket.RateVersion));
        Assert.Equal(1, device.Snapshot().RateVersion);
    }

    [Fact]
    public void Clock_SteppingBackwards_ChargesNothingTwiceAndNothingNegative()
    {
        var time = new SteppingClock(T0);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(DollarPerSecond), time);

        time.Now = T0.AddSeconds(10);
        var ticket = device.Start();
        time.Now = T0.AddSeconds(4); // NTP steps the clock back 6 s mid-request
        var during = device.Snapshot();
        time.Now = T0.AddSeconds(12);
        var cost = device.End(ticket).Usd;

        Assert.Equal(10, during.BillUsd, 9); // frozen, not rewound
        Assert.Equal(2, cost, 9); // only 10 s → 12 s: the repeated seconds are not charged again
        var account = device.Snapshot();
        Assert.Equal(12, account.BillUsd, 9);
        Assert.Equal(account.BillUsd, account.IdleUsd + account.FinishedUsd, 9);
    }

    [Fact]
    public void End_SingleRequest_ChargesDurationTimesRate()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(DollarPerSecond), time);

        time.Advance(TimeSpan.FromSeconds(2));
        var ticket = device.Start();
        time.Advance(TimeSpan.FromSeconds(3));
        var cost = device.End(ticket).Usd;
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(3, cost, 9);
        var account = device.Snapshot();
        Assert.Equal(6, account.BillUsd, 9);
        Assert.Equal(3, account.IdleUsd, 9);
    }

    [Fact]
    public void Allocate_TwoOverlappingRequests_SplitsDeviceTimeEvenly()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(DollarPerSecond), time);

        var a = device.Start();
        time.Advance(TimeSpan.FromSeconds(10));
        var b = device.Start();
        time.Advance(TimeSpan.FromSeconds(10));
        var costA = device.End(a).Usd;
        time.Advance(TimeSpan.FromSeconds(10));
        var costB = device.End(b).Usd;

        Assert.Equal(15, costA, 9); // 10 s alone + 10 s shared
        Assert.Equal(15, costB, 9);
        Assert.Equal(0, device.Snapshot().IdleUsd, 9);
        Assert.Equal(30, device.Snapshot().BillUsd, 9);
    }

    [Fact]
    public void Allocate_RateChangeMidRequest_SplitsAtBoundary()
    {
        var time = new FakeTimeProvider(T0);
        var card = new RateCard([new RatePeriod(DateTimeOffset.MinValue, DollarPerSecond), new RatePeriod(T0.AddSeconds(5), 2 * DollarPerSecond)]);
        var device = new DeviceAllocator("gpu0", card, time);

        var ticket = device.Start();
        time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(5 + 10, device.End(ticket).Usd, 9);
        Assert.Equal(1, device.Snapshot().RateVersion);
    }

    [Fact]
    public void Allocate_LatencyMethodUnderConcurrency_ChargesMoreThanTheBill()
    {
        var time = new FakeTimeProvider(T0);
        var device = new DeviceAllocator("gpu0", RateCard.Flat(DollarPerSecond), time, AllocationMethod.Latency);

        var a = device.Start();
        var b = device.Start();
        time.Advance(TimeSpan.FromSeconds(4));
        var total = device.End(a).Usd + device.End(b).Usd;

        Assert.Equal(8, total, 9);
        Assert.Equal(4, device.Snapshot().BillUsd, 9);
    }

    [Fact]
    public void Allocate_RandomScheduleWithRateChanges_CostsPlusInFlightPlusIdleEqualBill()
    {
        var time = new FakeTimeProvider(T0);
        var card = new RateCard([
            new RatePeriod(DateTimeOffset.MinValue, 2.5),
            new RatePeriod(T0.AddMinutes(3), 0.17),
            new RatePeriod(T0.AddMinutes(7), 11)]);
        var device = new DeviceAllocator("gpu0", card, time);
        var random = new Random(42);
        var open = new List<AllocationTicket>();
        var finished = 0.0;

        for (var step = 0; step < 5000; step++)
        {
            time.Advance(TimeSpan.FromTicks(random.Next(1, 2_000_000)));
            if (open.Count > 0 && random.NextDouble() < 0.5)
            {
                var i = random.Next(open.Count);
                finished += device.End(open[i]).Usd;
                open.RemoveAt(i);
            }
            else
            {
                open.Add(device.Start());
            }

            if (step % 500 == 0)
            {
                var account = device.Snapshot();
                var expectedBill = card.CostUsd(T0, time.GetUtcNow());
                Assert.InRange(Math.Abs(finished + account.InFlightUsd + account.IdleUsd - account.BillUsd) / account.BillUsd, 0, 1e-9);
                Assert.InRange(Math.Abs(account.BillUsd - expectedBill) / expectedBill, 0, 1e-9);
                Assert.Equal(finished, account.FinishedUsd, 12);
            }
        }
    }

    [Fact]
    public async Task Allocate_ManyThreads_FinishedCostsPlusIdleEqualBill()
    {
        var device = new DeviceAllocator("cpu", RateCard.Flat(DollarPerSecond), TimeProvider.System);
        var costs = new double[16];

        await Task.WhenAll(Enumerable.Range(0, costs.Length).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var ticket = device.Start();
                Thread.SpinWait(50);
                costs[worker] += device.End(ticket).Usd;
            }
        })));

        var account = device.Snapshot();
        Assert.Equal(0, account.InFlight);
        Assert.InRange(Math.Abs(costs.Sum() + account.IdleUsd - account.BillUsd) / account.BillUsd, 0, 1e-9);
        Assert.True(costs.Sum() > 0);
    }

    /// <summary>A wall clock that can be set to any time, backwards too (FakeTimeProvider refuses that).</summary>
    private sealed class SteppingClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
