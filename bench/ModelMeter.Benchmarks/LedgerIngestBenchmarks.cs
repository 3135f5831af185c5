using BenchmarkDotNet.Attributes;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Benchmarks;

/// <summary>Rows per second through <see cref="LedgerWriter"/> into SQLite: 64 concurrent requests, each awaiting its row (Strict) or not (Relaxed).</summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class LedgerIngestBenchmarks
{
    private const int Rows = 20_000;
    private const int Producers = 64;
    private string _directory = null!;

    [Params(LedgerDurability.Strict, LedgerDurability.Relaxed)]
    public LedgerDurability Durability { get; set; }

    [GlobalSetup]
    public void Setup() => _directory = Directory.CreateTempSubdirectory("modelmeter-ingest-").FullName;

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(OperationsPerInvoke = Rows)]
    public async Task WriteRows()
    {
        using var ledger = new SqliteLedger(Path.Combine(_directory, $"{Guid.NewGuid():N}.db"), fullSync: Durability == LedgerDurability.Strict);
        ledger.Initialize();
        var writer = new LedgerWriter(ledger, new(Durability, TimeSpan.FromMilliseconds(200)));
        writer.Start();
        var start = DateTimeOffset.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var i = p; i < Rows; i += Producers)
            {
                await writer.RecordAsync(LedgerData.Row(i, start));
            }
        })));
        await writer.DisposeAsync();
    }
}
