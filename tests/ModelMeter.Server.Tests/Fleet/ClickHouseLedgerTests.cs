using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Pricing;

namespace ModelMeter.Server.Tests.Fleet;

/// <summary>The fleet ledger on Debian's real ClickHouse 18.16: idempotent shipping, aggregation, nodes.</summary>
public sealed class ClickHouseLedgerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private ClickHouseServer _server = null!;

    public async Task InitializeAsync() => _server = await ClickHouseServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ShippingTheSameRowsTwice_CountsThemOnce()
    {
        var ledger = await LedgerAsync("twice");
        var rows = new[] { Row("a-1", "demo-small", "acme", 0.25, 10), Row("a-2", "demo-large", "acme", 0.5, 20), Row("a-3", "demo-large", "globex", 1.0, 30) };
        var idle = new[] { (new IdleRow("cpu", Noon, 0.125, 0.17), 1L) };

        await ledger.ShipAsync("node-a", "spool-1", 1, 4, rows, idle);
        await ledger.ShipAsync("node-a", "spool-1", 1, 4, rows, idle); // a retry after a timeout whose first try did arrive

        var summary = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate);
        Assert.Equal(3, summary.Rows.Where(r => !r.IsIdle).Sum(r => r.Requests));
        Assert.Equal(1.5, summary.Rows.Single(r => r.Key == "demo-large").CostUsd, 12);
        Assert.Equal(0.125, summary.Rows.Single(r => r.IsIdle).IdleUsd, 12);
        Assert.Equal(1.875, summary.TotalUsd, 12);

        // A tenant's requests alone (no idle time), with a name that would break an unescaped literal finding nothing.
        var acme = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate, new CostFilter(Tenant: "acme"));
        var quoted = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate, new CostFilter(Tenant: "o'brien\\"));
        Assert.Equal((2, 0.75), (acme.Rows.Sum(r => r.Requests), acme.TotalUsd));
        Assert.DoesNotContain(acme.Rows, r => r.IsIdle);
        Assert.Empty(quoted.Rows);
    }

    [Fact]
    public async Task ProvisionalRows_ShippedAndCounted_UntilTheirFinalRowReplacesThem()
    {
        var ledger = await LedgerAsync("provisional");
        var cut = Row("cut", "demo-small", "acme", 0.4, 10) with { Status = LedgerRow.ProvisionalStatus }; // its process died mid-stream
        var running = Row("running", "demo-small", "acme", 0.4, 20) with { Status = LedgerRow.ProvisionalStatus };
        await ledger.ShipAsync("node-a", "spool-1", 1, 2, [cut, running], []);
        await ledger.ShipAsync("node-b", "spool-2", 1, 1, [Row("running", "demo-small", "acme", 0.3, 25) with { Status = LedgerRow.ProvisionalStatus }], []); // same id, other node

        var before = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate);
        await ledger.ShipAsync("node-a", "spool-1", 3, 3, [Row("running", "demo-small", "acme", 0.25, 40)], []); // it ended
        var after = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate);

        Assert.Equal(3, before.Rows.Single(r => r.Key == CostSummaryRow.ProvisionalKey).Requests);
        Assert.Equal(0, before.TotalUsd); // what a provisional row ran is not known: a count, no cost
        Assert.Equal(2, after.Rows.Single(r => r.Key == CostSummaryRow.ProvisionalKey).Requests); // node-a's cut one and node-b's
        Assert.Equal(0.25, after.TotalUsd, 12);
        Assert.Equal(1, after.Rows.Single(r => r.Key == "demo-small").Requests);
    }

    [Fact]
    public async Task AShipmentRepeatedFromTheSameFirstEntryWithMoreRows_CountsEachRowOnce_InWholeAndPartialHours()
    {
        var ledger = await LedgerAsync("superset");
        var rows = new[] { -1800, 600, 3000, 4800, 7500 }
            .Select((second, i) => Row($"r{i}", i % 2 == 0 ? "demo-small" : "demo-large", "acme", 0.125 * (i + 1), second) with
            {
                Details = new TokenDetails(i + 1, 1, i), EnergyJoules = 10.5 * (i + 1), Co2eGrams = 0.25 * (i + 1),
            }).ToArray();
        await ledger.ShipAsync("node-a", "spool-1", 1, 3, rows[..3], []); // landed, but its acknowledgement was lost (a crash)
        await ledger.ShipAsync("node-a", "spool-1", 1, 5, rows, []); // after the restart: from the same first entry, with more rows

        // 11:15 to 14:10: partial hours at both ends (rows), 12:00 to 14:00 whole (hourly totals).
        var (from, to) = (Noon.AddMinutes(-45), Noon.AddHours(2).AddMinutes(10));
        var expected = rows.Where(r => r.EndedAt >= from && r.EndedAt < to).ToList();
        var byModel = await ledger.SummarizeAsync(from, to, CostGrouping.Model, IdleSharing.Separate);
        var byUser = await ledger.SummarizeAsync(from, to, CostGrouping.User, IdleSharing.Separate); // rows only
        var byDay = await ledger.SummarizeAsync(from, to, CostGrouping.Day, IdleSharing.Separate);

        Assert.Equal(expected.Count, byModel.Rows.Sum(r => r.Requests));
        Assert.Equal(expected.Sum(r => r.CostUsd), byModel.TotalUsd, 12);
        Assert.Equal(expected.Where(r => r.Model == "demo-large").Sum(r => r.CostUsd), byModel.Rows.Single(r => r.Key == "demo-large").CostUsd, 12);
        Assert.Equal(byModel.TotalUsd, byUser.TotalUsd, 12);
        Assert.Equal("2026-11-27", byDay.Rows.Single().Key);
        Assert.Equal(expected.Sum(r => r.OutputTokens), byDay.Rows.Single().OutputTokens);

        // Cached, written and reasoning tokens come along, from the hourly totals and the rows alike.
        var details = expected.Aggregate(default(TokenDetails), (sum, r) => sum.Add(r.Details));
        Assert.Equal(details, byModel.Rows.Aggregate(default(TokenDetails), (sum, r) => sum.Add(r.Details)));
        Assert.Equal(details, byUser.Rows.Single().Details);

        // Energy and carbon too; and the time series carries them.
        Assert.Equal(expected.Sum(r => r.EnergyJoules), byModel.Rows.Sum(r => r.EnergyJoules), 9);
        Assert.Equal(expected.Sum(r => r.Co2eGrams), byUser.Rows.Single().Co2eGrams, 9);
        var series = await ledger.TimeseriesAsync(from, to, CostGrouping.Model, TimeSpan.FromHours(1));
        Assert.Equal(expected.Sum(r => r.EnergyJoules), series.Sum(p => p.EnergyJoules), 9);
    }

    [Fact]
    public async Task ALedgerFileMadeAnew_ItsShipmentsNumberedFromOneAgain_DoNotReplaceTheEarlierFilesTotals()
    {
        var ledger = await LedgerAsync("anew");
        await ledger.ShipAsync("node-a", "old-file", 1, 1, [Row("old", "demo-small", "acme", 1.0, 60)], []);
        await ledger.ShipAsync("node-a", "new-file", 1, 1, [Row("new", "demo-small", "acme", 2.0, 120)], []); // same node, same hour, same first entry

        var summary = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Model, IdleSharing.Separate);
        Assert.Equal(3.0, summary.TotalUsd, 12);
        Assert.Equal(2, summary.Rows.Single().Requests);
    }

    [Fact]
    public async Task AnIdleMinuteShippedAgainWithMoreCost_TheLatestVersionCounts()
    {
        var ledger = await LedgerAsync("versions");
        await ledger.ShipAsync("node-a", "spool-1", 5, 5, [], [(new IdleRow("cpu", Noon, 0.1, 0.17), 5L)]);
        await ledger.ShipAsync("node-a", "spool-1", 9, 9, [], [(new IdleRow("cpu", Noon, 0.3, 0.17) { EnergyJoules = 600, Co2eGrams = 0.08 }, 9L)]);
        await ledger.ShipAsync("node-a", "spool-1", 5, 5, [], [(new IdleRow("cpu", Noon, 0.1, 0.17) { EnergyJoules = 200 }, 5L)]); // a late retry of the first

        var summary = await ledger.SummarizeAsync(Noon, Noon.AddMinutes(1), CostGrouping.Model, IdleSharing.Separate);
        Assert.Equal(0.3, summary.TotalUsd, 12);
        Assert.Equal((600, 0.08), (summary.Rows.Single().EnergyJoules, summary.Rows.Single().Co2eGrams)); // the idle minute's energy, latest version
    }

    [Fact]
    public async Task TwoNodes_ByNodeAndIdleSharedOnlyWithinItsOwnNode()
    {
        var ledger = await LedgerAsync("nodes");
        await ledger.ShipAsync("node-a", "spool-1", 1, 2, [Row("1", "demo-small", "acme", 1.0, 5)], [(new IdleRow("cpu", Noon, 0.5, 0.17), 1L)]);
        await ledger.ShipAsync("node-b", "spool-1", 1, 2, [Row("1", "demo-small", "globex", 3.0, 5)], [(new IdleRow("cpu", Noon, 2.0, 0.17), 1L)]);

        var byNode = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Node, IdleSharing.Separate);
        Assert.Equal(1.5, byNode.Rows.Single(r => r.Key == "node-a").TotalUsd, 12);
        Assert.Equal(5.0, byNode.Rows.Single(r => r.Key == "node-b").TotalUsd, 12);

        // The same request id on two nodes is two requests; each node's idle goes to the tenant that used that node.
        var byTenant = await ledger.SummarizeAsync(Noon, Noon.AddHours(1), CostGrouping.Tenant, IdleSharing.Proportional);
        Assert.Equal(1.5, byTenant.Rows.Single(r => r.Key == "acme").TotalUsd, 12);
        Assert.Equal(5.0, byTenant.Rows.Single(r => r.Key == "globex").TotalUsd, 12);
        Assert.Equal(2, byTenant.Rows.Sum(r => r.Requests));
    }

    [Fact]
    public async Task Timeseries_BucketsRequestsAndIdleByStep()
    {
        var ledger = await LedgerAsync("series");
        await ledger.ShipAsync("node-a", "spool-1", 1, 5,
            [Row("1", "demo-small", "acme", 1.0, 5), Row("2", "demo-small", "acme", 2.0, 65), Row("3", "demo-large", "acme", 4.0, 70)],
            [(new IdleRow("cpu", Noon, 0.5, 0.17), 1L), (new IdleRow("cpu", Noon.AddMinutes(1), 0.25, 0.17), 2L)]);

        var points = await ledger.TimeseriesAsync(Noon, Noon.AddMinutes(2), CostGrouping.Model, TimeSpan.FromMinutes(1));

        Assert.Equal(
            [("demo-small", Noon, 1.0), ("(idle)", Noon, 0.5), ("demo-large", Noon.AddMinutes(1), 4.0), ("demo-small", Noon.AddMinutes(1), 2.0), ("(idle)", Noon.AddMinutes(1), 0.25)],
            points.Select(p => (p.Key, p.Start, p.CostUsd)).OrderBy(p => p.Start).ThenBy(p => p.Key == "(idle)").ThenBy(p => p.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task ADatabaseWithANewerSchema_IsRefusedAtStart()
    {
        var ledger = await LedgerAsync("newer");
        await _server.Client.ExecuteAsync($"INSERT INTO newer.schema_version VALUES ({ClickHouseLedger.SchemaVersion + 1}, now())");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.InitializeAsync());
        Assert.Contains($"has ledger schema {ClickHouseLedger.SchemaVersion + 1}", error.Message);
    }

    [Fact]
    public async Task SharedDevice_LateRowOfAnotherReplica_IsTakenWhenTheMinuteIsSettledAgain_ARepeatChangesNothing()
    {
        var ledger = await LedgerAsync("late", shared: "cpu");
        await ledger.ShipAsync("node-a", "spool-a", 1, 2, [Span("a1", 0, 30)], [(new IdleRow("cpu", Noon, 5.0, 36), 2L)]); // its own idle: not the fleet's

        await ledger.SettleAsync("cpu", Noon, Noon.AddMinutes(1), _ => 36);
        var first = await SettledAsync("late");
        await ledger.ShipAsync("node-b", "spool-b", 1, 1, [Span("b1", 15, 45)], []); // node-b shipped late
        await ledger.SettleAsync("cpu", Noon, Noon.AddMinutes(1), _ => 36);
        var second = await SettledAsync("late");
        await ledger.SettleAsync("cpu", Noon, Noon.AddMinutes(1), _ => 36);
        var repeat = await SettledAsync("late");

        Assert.Equal(0.3, first.Costs["node-a/a1"], 12); // 30 s alone at 0.01 USD/s
        Assert.Equal(0.3, first.Idle, 12);
        Assert.Equal(0.15 + 0.075, second.Costs["node-a/a1"], 12); // 15 s alone, 15 s shared
        Assert.Equal(0.075 + 0.15, second.Costs["node-b/b1"], 12);
        Assert.Equal(0.15, second.Idle, 12);
        Assert.Equal(second.Costs, repeat.Costs);
        Assert.Equal(second.Idle, repeat.Idle);

        // The report reads the settled figures: the replicas' own costs (9 USD each) and node-a's idle row are not the fleet's.
        var summary = await ledger.SummarizeAsync(Noon, Noon.AddMinutes(1), CostGrouping.Model, IdleSharing.Separate);
        Assert.Equal(0.6, summary.TotalUsd, 12);
        Assert.Equal(0, summary.EstimatedUsd, 12); // all of it settled
        Assert.Equal(0.45, summary.Rows.Single(r => r.Key == "demo-large").CostUsd, 12);
        Assert.Equal(2, summary.Rows.Single(r => r.Key == "demo-large").Requests);
        Assert.Equal(0.15, summary.Rows.Single(r => r.Key == "(idle) cpu").IdleUsd, 12);
    }

    [Fact]
    public async Task SharedDevice_UnsettledTail_IsTheReplicasEstimateProRata_UntilSettled()
    {
        var ledger = await LedgerAsync("tail", shared: "cpu");
        await ledger.ShipAsync("node-a", "spool-a", 1, 1, [Span("long", 30, 90)], []); // half in the settled minute, half after

        await ledger.SettleAsync("cpu", Noon, Noon.AddMinutes(1), _ => 36);
        var summary = await ledger.SummarizeAsync(Noon, Noon.AddMinutes(2), CostGrouping.Model, IdleSharing.Separate);

        // Settled: 30 s at 0.01 USD/s; after the settled end, half of its own 9 USD estimate; idle of the settled minute.
        Assert.Equal(0.3 + 4.5, summary.Rows.Single(r => r.Key == "demo-large").CostUsd, 9);
        Assert.Equal(4.5, summary.EstimatedUsd, 9); // said apart: not settled yet
        Assert.Equal(0.3, summary.Rows.Single(r => r.IsIdle).IdleUsd, 12);
    }

    [Fact]
    public async Task Frontier_IsTheEarliestLiveWatermark_AStoppedOrSilentReplicaHoldsNothingUp()
    {
        var ledger = await LedgerAsync("frontier");
        var now = Noon.AddMinutes(10);
        await ledger.PublishWatermarkAsync("a", Noon, Noon.AddMinutes(9), now);
        await ledger.PublishWatermarkAsync("b", Noon.AddMinutes(1), Noon.AddMinutes(8), now.AddSeconds(-5));
        await ledger.PublishWatermarkAsync("stopped", Noon.AddMinutes(2), DateTimeOffset.MaxValue, now);
        await ledger.PublishWatermarkAsync("crashed", Noon.AddMinutes(-5), Noon.AddMinutes(1), now.AddMinutes(-3));

        var frontier = await ledger.FrontierAsync(now, TimeSpan.FromMinutes(2));

        Assert.Equal((Noon.AddMinutes(-5), Noon.AddMinutes(8)), frontier);
        await ledger.PublishWatermarkAsync("b", Noon.AddMinutes(1), Noon.AddMinutes(9).AddSeconds(30), now); // b catches up: the newer row wins
        Assert.Equal(Noon.AddMinutes(9), (await ledger.FrontierAsync(now, TimeSpan.FromMinutes(2)))!.Value.Through);
        Assert.Null(await ledger.FrontierAsync(now.AddHours(1), TimeSpan.FromMinutes(2))); // everyone silent
    }

    /// <summary>The settled minute at noon: each request's share by node/id, and its idle.</summary>
    private async Task<(Dictionary<string, double> Costs, double Idle)> SettledAsync(string database)
    {
        var costs = (await _server.Client.QueryAsync($"SELECT concat(node, '/', request_id) AS k, cost_usd AS c FROM {database}.shared_costs FINAL"))
            .ToDictionary(r => r.GetProperty("k").GetString()!, r => r.GetProperty("c").GetDouble());
        var idle = (await _server.Client.QueryAsync($"SELECT idle_usd AS i FROM {database}.shared_minutes FINAL")).Single().GetProperty("i").GetDouble();
        return (costs, idle);
    }

    /// <summary>A request on the shared device from <paramref name="from"/> to <paramref name="to"/> seconds after noon, whose replica estimated 9 USD.</summary>
    private static LedgerRow Span(string id, int from, int to) =>
        new LedgerRow(id, Noon.AddSeconds(from), Noon.AddSeconds(to), "demo-large", "generate", "acme", "", "cpu", 10, 20, to - from, 0.1, 9.0, "ok", 36) { DeviceStartedAt = Noon.AddSeconds(from) };

    private async Task<ClickHouseLedger> LedgerAsync(string database, params string[] shared)
    {
        var ledger = new ClickHouseLedger(_server.Client, database) { SharedDevices = shared };
        // Two replicas starting at once on an empty database, then a third that finds the schema in place.
        await Task.WhenAll(ledger.InitializeAsync(), new ClickHouseLedger(_server.Client, database).InitializeAsync());
        await ledger.InitializeAsync();
        return ledger;
    }

    private static LedgerRow Row(string id, string model, string tenant, double cost, int second) =>
        new(id, Noon.AddSeconds(second - 1), Noon.AddSeconds(second).AddMilliseconds(250), model, "generate", tenant, "", "cpu", 10, 20, 1.0, 0.1, cost, "ok", 0.17);
}
