using Microsoft.Extensions.Time.Testing;
using ModelMeter.Allocation;
using ModelMeter.Energy;
using ModelMeter.Pricing;

namespace ModelMeter.Tests.Allocation;

/// <summary>Device time divided by work across models: measured groups weigh the work they report, their rows share it equally.</summary>
public sealed class WorkSplitTests
{
    private const double DollarPerSecond = 3600; // costs read as seconds
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A clock at T0 and a device at 1 USD a second.</summary>
    private static (FakeTimeProvider Time, DeviceAllocator Device) Cpu()
    {
        var time = new FakeTimeProvider(T0);
        return (time, new DeviceAllocator("cpu", RateCard.Flat(DollarPerSecond), time));
    }

    [Fact]
    public void Split_LargeModelBesideABatchOfEightSmallRows_FollowsStepTimesNotRowCounts()
    {
        var (time, device) = Cpu();
        var (large, small) = (device.GroupFor("demo-large"), device.GroupFor("demo-small"));
        large.ReportWork(0.030);
        small.ReportWork(0.010); // a step of all eight rows

        var big = large.Start();
        var rows = Enumerable.Range(0, 8).Select(_ => small.Start()).ToList();
        time.Advance(TimeSpan.FromSeconds(10));
        var bigCost = large.End(big).Usd;
        var rowCosts = rows.Select(r => small.End(r).Usd).ToList();

        Assert.Equal(7.5, bigCost, 9); // 30 / (30 + 10) of 10 s; counted by rows it would be 10 / 9
        Assert.All(rowCosts, c => Assert.Equal(2.5 / 8, c, 9));
        Assert.Equal(10, device.Snapshot().FinishedUsd, 9);
    }

    [Fact]
    public void Split_ModelsTakingTurns_EachPaysTheTimeItsTurnsHeldTheDevice_AndBothShareTheGapsBetween()
    {
        // As batched ONNX models report it: 1 while a turn holds the device, a millionth between turns.
        const double holding = 1, waiting = 1e-6;
        var (time, device) = Cpu();
        var (large, small) = (device.GroupFor("demo-large"), device.GroupFor("demo-small"));
        var big = large.Start();
        var rows = Enumerable.Range(0, 8).Select(_ => small.Start()).ToList();
        large.ReportWork(waiting);
        small.ReportWork(waiting);
        for (var cycle = 0; cycle < 100_000; cycle++) // 1000 s: large turns of 6 ms, four small ones of 1 ms, 2 ms between
        {
            large.ReportWork(holding);
            time.Advance(TimeSpan.FromMilliseconds(6));
            large.ReportWork(waiting);
            for (var turn = 0; turn < 4; turn++)
            {
                small.ReportWork(holding);
                time.Advance(TimeSpan.FromMilliseconds(1));
                small.ReportWork(waiting);
            }

            time.Advance(TimeSpan.FromMilliseconds(2)); // no turn: the gap is shared by the two models
        }

        var bigCost = large.End(big).Usd;
        var rowCosts = rows.Select(r => small.End(r).Usd).ToList();

        // Its turns' 600 s and half of the 200 s of gaps; a waiting model's millionth moves under 0.001 s either way.
        Assert.Equal(600 + 100, bigCost, 0.001);
        Assert.All(rowCosts, c => Assert.Equal((400 + 100) / 8.0, c, 0.001));
        var account = device.Snapshot();
        Assert.Equal(1200, account.BillUsd, 1e-6);
        Assert.Equal(0, account.IdleUsd);
        Assert.True(Math.Abs(account.BillUsd - (bigCost + rowCosts.Sum())) < 1e-9 * account.BillUsd, "requests add up to the bill after 1.6 million reports");
    }

    [Fact]
    public void Split_OneMeasuredModelAlone_ChargesEachRowEquallyAsUnmeasured()
    {
        var (time, device) = Cpu();
        var model = device.GroupFor("demo-small");

        var a = model.Start();
        model.ReportWork(0.004);
        time.Advance(TimeSpan.FromSeconds(3));
        var b = model.Start();
        model.ReportWork(0.017); // a larger batch takes longer: the rows of one model still share equally
        time.Advance(TimeSpan.FromSeconds(4));

        Assert.Equal(5, model.End(a).Usd, 9); // 3 alone + 4 / 2
        Assert.Equal(2, model.End(b).Usd, 9);
    }

    [Fact]
    public void Split_UnmeasuredRequestBesideAMeasuredModel_WeighsTheMeanStepTime()
    {
        var (time, device) = Cpu();
        var (batched, gateway) = (device.GroupFor("demo-small"), device.GroupFor("remote"));
        batched.ReportWork(0.020);

        var rows = new[] { batched.Start(), batched.Start(), batched.Start() };
        var call = gateway.Start();
        time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(3, gateway.End(call).Usd, 9); // one model step's weight against the batch's one: half each
        Assert.All(rows, r => Assert.Equal(1, batched.End(r).Usd, 9));
    }

    [Fact]
    public void ReportWork_NotFiniteOrNotPositive_IsIgnored()
    {
        var (time, device) = Cpu();
        var (a, b) = (device.GroupFor("a"), device.GroupFor("b"));
        a.ReportWork(0.01);
        b.ReportWork(0.01);
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, 0, -1 })
        {
            a.ReportWork(bad);
        }

        var (ta, tb) = (a.Start(), b.Start());
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal((1.0, 1.0), (Math.Round(a.End(ta).Usd, 9), Math.Round(b.End(tb).Usd, 9)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Split_RandomModelsStepsAndRequests_FinishedPlusInFlightPlusIdleIsTheBill_ForEnergyToo(int seed)
    {
        var time = new FakeTimeProvider(T0);
        var card = new RateCard([new RatePeriod(DateTimeOffset.MinValue, 2.5), new RatePeriod(T0.AddMinutes(4), 11)]);
        var device = new DeviceAllocator("cpu", card, time, energy: new EstimatedPower(10, 60), grid: GridIntensity.Flat(475));
        var groups = new[] { device.GroupFor("a"), device.GroupFor("b"), device.GroupFor("c") };
        var random = new Random(seed);
        var open = new List<(AllocationGroup Group, AllocationTicket Ticket)>();
        var finished = default(DeviceShare);

        for (var step = 0; step < 6000; step++)
        {
            time.Advance(TimeSpan.FromTicks(random.Next(1, 2_000_000)));
            var roll = random.NextDouble();
            if (roll < 0.25)
            {
                groups[random.Next(2)].ReportWork(random.NextDouble() * 0.05); // c is never measured
            }
            else if (open.Count > 0 && roll < 0.62)
            {
                var i = random.Next(open.Count);
                finished += open[i].Group.End(open[i].Ticket);
                open.RemoveAt(i);
            }
            else
            {
                var group = groups[random.Next(groups.Length)];
                open.Add((group, group.Start()));
            }

            if (step % 600 == 0)
            {
                var account = device.Snapshot();
                Assert.Equal(account.Bill.Usd, account.Idle.Usd + account.Finished.Usd + account.InFlightShare.Usd, 9);
                Assert.Equal(account.Bill.Joules, account.Idle.Joules + account.Finished.Joules + account.InFlightShare.Joules, 6);
            }
        }

        foreach (var (group, ticket) in open)
        {
            finished += group.End(ticket);
        }

        var end = device.Snapshot();
        Assert.Equal(end.Bill.Usd, end.Idle.Usd + finished.Usd, 9);
        Assert.Equal(end.Bill.Joules, end.Idle.Joules + finished.Joules, 6);
        Assert.Equal(end.Bill.Co2eGrams, end.Idle.Co2eGrams + finished.Co2eGrams, 6);
        Assert.Equal(0, end.InFlight);
    }
}
