using BenchmarkDotNet.Attributes;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;

namespace ModelMeter.Benchmarks;

/// <summary>
/// The fleet ledger on a real ClickHouse (bench/fleet/clickhouse.sh starts Debian's and sets MODELMETER_CLICKHOUSE_URL):
/// shipping a batch of 5,000 request rows, and summaries over 30 days at 10 million rows spread over 4 nodes.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class FleetLedgerBenchmarks
{
    private const int Rows = 10_000_000;
    private static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(10) };
    private ClickHouseLedger _ledger = null!;
    private LedgerRow[] _batch = null!;
    private int _shipment;

    [GlobalSetup]
    public void Setup()
    {
        var url = new Uri(Environment.GetEnvironmentVariable("MODELMETER_CLICKHOUSE_URL") ?? "http://127.0.0.1:8123/");
        var client = new ClickHouseClient(_http, url);
        _ledger = new ClickHouseLedger(client, "bench");
        _ledger.InitializeAsync().GetAwaiter().GetResult();
        var count = client.QueryAsync("SELECT count() AS n FROM bench.requests").GetAwaiter().GetResult()[0].GetProperty("n").GetInt64();
        if (count < Rows)
        {
            // 10 M requests over 30 days, 4 nodes, 3 models, 50 tenants, generated inside ClickHouse. Columns are named: later
            // schema versions add columns (token details, energy) that the generated rows leave at their default, 0.
            var startSeconds = Start.ToUnixTimeSeconds();
            client.ExecuteAsync($"""
                INSERT INTO bench.requests (node, request_id, started_ms, ended, ended_ms, model, endpoint, tenant, user, device,
                    input_tokens, output_tokens, latency_seconds, ttft_seconds, cost_usd, status, hourly_usd, rate_version, usage_estimated, device_started_ms)
                SELECT concat('node-', toString(number % 4)), concat('req_', toString(number)), ({startSeconds} + intDiv(number * 2592, 10000)) * 1000,
                       toDateTime({startSeconds} + intDiv(number * 2592, 10000)), ({startSeconds} + intDiv(number * 2592, 10000)) * 1000 + number % 1000,
                       ['demo-small', 'demo-medium', 'demo-large'][number % 3 + 1], 'generate', concat('tenant-', toString(number % 50)), '', 'gpu0',
                       20, 64, 0.5, 0.05, 0.0001 * (number % 7 + 1), 'ok', 2.5, 0, 0, ({startSeconds} + intDiv(number * 2592, 10000)) * 1000
                FROM numbers({Rows})
                """).GetAwaiter().GetResult();
            // The hourly totals shipping writes alongside (here in one piece, as the schema migration backfills them).
            client.ExecuteAsync("""
                INSERT INTO bench.requests_hourly (hour, hour_ms, node, spool, batch, version, model, endpoint, tenant, device, status,
                    requests, input_tokens, output_tokens, cost_usd)
                SELECT toStartOfHour(ended), intDiv(ended_ms, 3600000) * 3600000, node, '', 0, 0, model, endpoint, tenant, device, status,
                       count(), sum(input_tokens), sum(output_tokens), sum(cost_usd)
                FROM bench.requests GROUP BY toStartOfHour(ended), intDiv(ended_ms, 3600000) * 3600000, node, model, endpoint, tenant, device, status
                """).GetAwaiter().GetResult();
            client.ExecuteAsync($"""
                INSERT INTO bench.idle (node, device, minute, minute_ms, cost_usd, hourly_usd, bill_usd, version)
                SELECT concat('node-', toString(n % 4)), 'gpu0', toDateTime({startSeconds} + intDiv(n, 4) * 60), ({startSeconds} + intDiv(n, 4) * 60) * 1000, 0.01, 2.5, 0.04, 1
                FROM (SELECT number AS n FROM numbers({30 * 24 * 60 * 4}))
                """).GetAwaiter().GetResult();
        }

        _batch = Enumerable.Range(0, 5000).Select(i => new LedgerRow(
            $"ship_{i}", Start.AddSeconds(i), Start.AddSeconds(i + 1), "demo-small", "generate", "acme", "", "gpu0", 20, 64, 1, 0.1, 0.001, "ok", 2.5)).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _http.Dispose();

    /// <summary>One shipment of 5,000 rows (gzip'd JSONEachRow); rows/s = 5,000 / the time.</summary>
    [Benchmark]
    public async Task Ship5000Rows()
    {
        var node = $"ship-{_shipment++}";
        await _ledger.ShipAsync(node, "bench", 1, _batch.Length, _batch, []);
    }

    [Benchmark]
    public async Task<double> SummaryByModel() =>
        (await _ledger.SummarizeAsync(Start.AddSeconds(37.5), Start.AddDays(30).AddSeconds(-12.25), CostGrouping.Model, IdleSharing.Proportional)).TotalUsd;

    [Benchmark]
    public async Task<double> SummaryByTenant() =>
        (await _ledger.SummarizeAsync(Start.AddSeconds(37.5), Start.AddDays(30).AddSeconds(-12.25), CostGrouping.Tenant, IdleSharing.Separate)).TotalUsd;
}
