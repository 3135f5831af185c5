using BenchmarkDotNet.Attributes;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Benchmarks;

/// <summary>Cost summaries over 30 days of ledger (window edges not on minutes), at 1 and 10 million rows.</summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class LedgerSummaryBenchmarks
{
    private SqliteLedger _ledger = null!;
    private DateTimeOffset _from;
    private DateTimeOffset _to;

    [Params(1_000_000, 10_000_000)]
    public int Rows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ledger = new SqliteLedger(LedgerData.Build(Rows), fullSync: false);
        _ledger.Initialize();
        _from = LedgerData.Start.AddSeconds(37.5);
        _to = LedgerData.Start.AddDays(30).AddSeconds(-12.25);
    }

    [GlobalCleanup]
    public void Cleanup() => _ledger.Dispose();

    [Benchmark]
    public double SummaryByModel() => _ledger.Summarize(_from, _to, CostGrouping.Model, IdleSharing.Proportional).TotalUsd;

    [Benchmark]
    public double SummaryByTenant() => _ledger.Summarize(_from, _to, CostGrouping.Tenant, IdleSharing.Separate).TotalUsd;

    [Benchmark]
    public double SummaryByDay() => _ledger.Summarize(_from, _to, CostGrouping.Day, IdleSharing.Separate).TotalUsd;
}
