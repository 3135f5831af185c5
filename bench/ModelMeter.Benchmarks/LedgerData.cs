using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Benchmarks;

/// <summary>Synthetic ledger rows: 3 models, 10 tenants, 100 users, one device, spread over 30 days.</summary>
internal static class LedgerData
{
    public static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    public static LedgerRow Row(int i, DateTimeOffset? start = null)
    {
        var ended = (start ?? Start).AddMilliseconds(i * 259.2); // 10 million rows fill 30 days
        return new LedgerRow($"req_{i:x8}", ended.AddSeconds(-0.4), ended, "demo-" + (i % 3), "generate", "tenant-" + (i % 10), "user-" + (i % 100),
            "gpu0", 20, 64, 0.4, 0.05, 0.00028 + (i % 7) * 1e-5, "ok", 2.5);
    }

    /// <summary>A ledger file of <paramref name="rows"/> rows, built once and kept in the temp directory.</summary>
    public static string Build(int rows)
    {
        var path = Path.Combine(Path.GetTempPath(), $"modelmeter-bench-ledger-{rows}.db");
        if (File.Exists(path))
        {
            return path;
        }

        var partial = path + ".partial";
        File.Delete(partial);
        using (var ledger = new SqliteLedger(partial, fullSync: false))
        {
            ledger.Initialize();
            const int batch = 50_000;
            for (var first = 0; first < rows; first += batch)
            {
                ledger.Append(Enumerable.Range(first, Math.Min(batch, rows - first)).Select(i => Row(i)).ToList(), []);
            }
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        File.Move(partial, path);
        return path;
    }
}
