using System.Globalization;
using ModelMeter.Allocation;

namespace ModelMeter.Ledger.ClickHouse;

/// <summary>
/// Shared devices: one physical device behind several replicas, billed once. Each replica ships its rows and its
/// readings of the device server's load, and publishes a watermark (everything it served that ended before it is
/// shipped); any replica settles the minutes every live replica has passed with <see cref="SharedDeviceSplit"/>, into
/// <c>shared_costs</c> (each request's share of each minute) and <c>shared_minutes</c> (bill, idle, unmetered). Settling
/// is deterministic and versioned, so a repeat or a second settler changes nothing, and a minute settled again after a
/// late row takes the newer figures.
/// </summary>
public sealed partial class ClickHouseLedger
{
    private const long MinuteMs = 60_000;

    /// <summary>The devices billed once for the whole fleet (<c>Devices:NAME:Shared</c>); reports read their settled figures.</summary>
    public IReadOnlyCollection<string> SharedDevices { get; init; } = [];

    private string Watermarks => $"{database}.watermarks";

    private string LoadSamples => $"{database}.load_samples";

    private string SharedCosts => $"{database}.shared_costs";

    private string SharedMinutes => $"{database}.shared_minutes";

    /// <summary>
    /// Says that <paramref name="node"/> has shipped every row of a request that ended before <paramref name="through"/>
    /// (and its load readings until then); it has served since <paramref name="since"/>. A replica that stops says
    /// <see cref="DateTimeOffset.MaxValue"/>: it holds up no settlement.
    /// </summary>
    public Task PublishWatermarkAsync(string node, DateTimeOffset since, DateTimeOffset through, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        client.InsertAsync(Watermarks, [new Dictionary<string, object?>
        {
            ["node"] = node, ["since_ms"] = Ms(since), ["through_ms"] = through == DateTimeOffset.MaxValue ? long.MaxValue : Ms(through),
            ["published_ms"] = Ms(now), ["version"] = Ms(now),
        }], cancellationToken);

    /// <summary>Stores <paramref name="node"/>'s readings of shared devices' load.</summary>
    public Task ShipLoadAsync(string node, IReadOnlyList<(string Device, LoadSample Sample)> samples, CancellationToken cancellationToken = default) =>
        samples.Count == 0 ? Task.CompletedTask : client.InsertAsync(LoadSamples, samples.Select(s => new Dictionary<string, object?>
        {
            ["device"] = s.Device, ["node"] = node, ["at"] = Iso(DateTimeOffset.FromUnixTimeMilliseconds(s.Sample.AtMs)), ["at_ms"] = s.Sample.AtMs, ["running"] = s.Sample.Running,
        }), cancellationToken);

    /// <summary>
    /// Where settling may go: the earliest watermark of the replicas that published one within <paramref name="nodeTimeout"/>
    /// of <paramref name="now"/> (a replica silent longer is gone and holds nothing up), and when the fleet began; null
    /// when no replica is live.
    /// </summary>
    public async Task<(DateTimeOffset Since, DateTimeOffset Through)?> FrontierAsync(DateTimeOffset now, TimeSpan nodeTimeout, CancellationToken cancellationToken = default)
    {
        var rows = await client.QueryAsync($"""
            SELECT countIf(published_ms >= {Ms(now - nodeTimeout)}) AS live, min(since_ms) AS s,
                   minIf(through_ms, published_ms >= {Ms(now - nodeTimeout)}) AS t
            FROM {Watermarks} FINAL
            """, cancellationToken);
        if (rows.Count == 0 || Long(rows[0], "live") == 0)
        {
            return null;
        }

        var through = Long(rows[0], "t");
        return (DateTimeOffset.FromUnixTimeMilliseconds(Long(rows[0], "s")),
            through >= Ms(DateTimeOffset.MaxValue) ? DateTimeOffset.MaxValue : DateTimeOffset.FromUnixTimeMilliseconds(through));
    }

    /// <summary>The end of <paramref name="device"/>'s last settled minute; null before the first.</summary>
    public async Task<DateTimeOffset?> SettledThroughAsync(string device, CancellationToken cancellationToken = default) =>
        (await SettledThroughAsync(cancellationToken)).TryGetValue(device, out var through) ? DateTimeOffset.FromUnixTimeMilliseconds(through) : null;

    /// <summary>
    /// Settles <paramref name="device"/>'s whole minutes in [<paramref name="from"/>, <paramref name="to"/>) from every
    /// replica's rows and readings; each minute at the rate <paramref name="hourlyUsdAt"/> gives for its start.
    /// </summary>
    /// <returns>The minutes written: those not settled yet, and those a late request joined since.</returns>
    public async Task<int> SettleAsync(string device, DateTimeOffset from, DateTimeOffset to, Func<DateTimeOffset, double> hourlyUsdAt, CancellationToken cancellationToken = default)
    {
        var (lo, hi) = (Floor(Ms(from), MinuteMs), Floor(Ms(to), MinuteMs));
        if (hi <= lo)
        {
            return 0;
        }

        var spans = await client.QueryAsync($"""
            SELECT node, request_id, model, endpoint, tenant, user, device_started_ms AS s, ended_ms AS e FROM {Requests} FINAL
            WHERE device = {Literal(device)} AND device_started_ms < {hi} AND ended_ms > {lo} AND ended >= toDateTime({Math.Max(0, lo / 1000)})
            """, cancellationToken);
        var load = (await client.QueryAsync($"""
            SELECT at_ms AS a, running AS r FROM {LoadSamples} FINAL
            WHERE device = {Literal(device)} AND {Window("at", lo - SharedDeviceSplit.DefaultSampleValidMs, hi)}
            """, cancellationToken)).Select(r => new LoadSample(Long(r, "a"), r.GetProperty("r").GetDouble())).ToList();
        var requests = spans.Select(r => (Span: new DeviceSpan(Text(r, "node"), Text(r, "request_id"), Long(r, "s"), Long(r, "e")), Row: r)).ToList();
        var settledBefore = (await client.QueryAsync($"""
            SELECT minute_ms AS m, requests AS n FROM {SharedMinutes} FINAL WHERE device = {Literal(device)} AND {Window("minute", lo, hi)}
            """, cancellationToken)).ToDictionary(r => Long(r, "m"), r => Long(r, "n"));
        var version = Ms((time ?? TimeProvider.System).GetUtcNow());
        var costs = new List<Dictionary<string, object?>>();
        var minutes = new List<Dictionary<string, object?>>();
        for (var minute = lo; minute < hi; minute += MinuteMs)
        {
            var start = DateTimeOffset.FromUnixTimeMilliseconds(minute);
            var hourly = hourlyUsdAt(start);
            var inMinute = requests.Where(r => r.Span.StartMs < minute + MinuteMs && r.Span.EndMs > minute).ToList();
            var split = SharedDeviceSplit.Split(minute, minute + MinuteMs, hourly, [.. inMinute.Select(r => r.Span)], load);
            if (settledBefore.TryGetValue(minute, out var before) && before == split.Requests.Count)
            {
                continue; // settled already with the same requests: settling again would write the same figures
            }

            foreach (var (span, row) in inMinute)
            {
                if (split.Requests.TryGetValue((span.Node, span.RequestId), out var usd))
                {
                    costs.Add(new()
                    {
                        ["device"] = device, ["minute"] = Iso(start), ["minute_ms"] = minute, ["node"] = span.Node, ["request_id"] = span.RequestId,
                        ["model"] = Text(row, "model"), ["endpoint"] = Text(row, "endpoint"), ["tenant"] = Text(row, "tenant"), ["user"] = Text(row, "user"),
                        ["cost_usd"] = usd, ["version"] = version,
                    });
                }
            }

            minutes.Add(new()
            {
                ["device"] = device, ["minute"] = Iso(start), ["minute_ms"] = minute, ["hourly_usd"] = hourly, ["bill_usd"] = split.BillUsd,
                ["idle_usd"] = split.IdleUsd, ["unmetered_usd"] = split.UnmeteredUsd, ["requests"] = split.Requests.Count, ["version"] = version,
            });
        }

        if (costs.Count > 0)
        {
            await client.InsertAsync(SharedCosts, costs, cancellationToken);
        }

        if (minutes.Count > 0)
        {
            await client.InsertAsync(SharedMinutes, minutes, cancellationToken); // after the costs: a minute counts as settled once all of it is in
        }
        return minutes.Count;
    }

    /// <summary>Each shared device's settled end (Unix ms), for the reports' split between settled figures and estimates.</summary>
    private async Task<Dictionary<string, long>> SettledThroughAsync(CancellationToken cancellationToken) =>
        SharedDevices.Count == 0 ? [] : (await client.QueryAsync($"""
            SELECT device AS d, max(minute_ms) + {MinuteMs} AS t FROM {SharedMinutes} FINAL GROUP BY d
            """, cancellationToken)).ToDictionary(r => Text(r, "d"), r => Long(r, "t"));

    /// <summary><c>device IN ('a', 'b')</c> for the shared devices; a condition that is never true without any.</summary>
    private string IsShared => SharedDevices.Count == 0 ? "0" : $"device IN ({string.Join(", ", SharedDevices.Select(Literal))})";

    /// <summary>The device a cost is split on: a shared device is one for the fleet, any other is its replica's own.</summary>
    private string DeviceOf => SharedDevices.Count == 0 ? "concat(node, '/', device)" : $"if({IsShared}, device, concat(node, '/', device))";

    /// <summary>
    /// A request's cost in reports: its own, except on a shared device, where the settled minutes are read from
    /// <c>shared_costs</c> and only its time after the settled end counts here, as the replica estimated it (pro rata).
    /// </summary>
    private static string CostOf(IReadOnlyDictionary<string, long> settled, IReadOnlyCollection<string> shared)
    {
        if (shared.Count == 0)
        {
            return "cost_usd";
        }

        var through = shared.Aggregate("toInt64(0)", (rest, d) => $"if(device = {Literal(d)}, toInt64({settled.GetValueOrDefault(d).ToString(CultureInfo.InvariantCulture)}), {rest})");
        return $"if(device IN ({string.Join(", ", shared.Select(Literal))}), " +
            $"cost_usd * greatest(0, ended_ms - greatest(device_started_ms, {through})) / greatest(1, ended_ms - device_started_ms), cost_usd)";
    }

    private static IReadOnlyList<string> SharedMigration(string db) =>
    [
        $"""
        CREATE TABLE IF NOT EXISTS {db}.watermarks (node String, since_ms Int64, through_ms Int64, published_ms Int64, version UInt64)
        ENGINE = ReplacingMergeTree(version) ORDER BY node
        """,
        $"""
        CREATE TABLE IF NOT EXISTS {db}.load_samples (device String, node String, at DateTime, at_ms Int64, running Float64)
        ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(at) ORDER BY (device, at, at_ms, node)
        """,
        $"""
        CREATE TABLE IF NOT EXISTS {db}.shared_costs (
            device String, minute DateTime, minute_ms Int64, node String, request_id String,
            model String, endpoint String, tenant String, user String, cost_usd Float64, version UInt64)
        ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(minute) ORDER BY (device, minute, node, request_id)
        """,
        $"""
        CREATE TABLE IF NOT EXISTS {db}.shared_minutes (
            device String, minute DateTime, minute_ms Int64, hourly_usd Float64, bill_usd Float64, idle_usd Float64, unmetered_usd Float64,
            requests UInt32, version UInt64)
        ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(minute) ORDER BY (device, minute)
        """,
    ];
}
