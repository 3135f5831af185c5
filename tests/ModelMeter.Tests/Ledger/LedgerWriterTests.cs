using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Tests.Ledger;

public sealed class LedgerWriterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task RecordAsync_Strict_RowIsCommittedWhenItReturns()
    {
        var store = new CountingStore();
        await using var writer = new LedgerWriter(store, new(LedgerDurability.Strict, TimeSpan.FromSeconds(10)));
        writer.Start();

        await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1)).AsTask()));

        Assert.Equal(200, store.Rows);
        Assert.True(store.Batches < 200, "rows arriving together are committed together");
    }

    [Fact]
    public async Task RecordAsync_StrictStoreFails_ThrowsAndMarksUnhealthyUntilAWriteSucceeds()
    {
        var store = new CountingStore { Failing = true };
        await using var writer = new LedgerWriter(store, new(LedgerDurability.Strict, TimeSpan.FromMilliseconds(10)));
        writer.Start();

        await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1)).AsTask());
        Assert.False(writer.IsHealthy);

        store.Failing = false;
        await writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1));
        Assert.True(writer.IsHealthy);
    }

    [Fact]
    public async Task RecordAsync_StrictCommitHangs_ThrowsAfterTheCommitTimeout_AndTheRowIsWrittenAsFailed()
    {
        var store = new CountingStore { Blocked = new ManualResetEventSlim(false) };
        var writer = new LedgerWriter(store, new(LedgerDurability.Strict, TimeSpan.FromSeconds(10), CommitTimeout: TimeSpan.FromMilliseconds(200)));
        writer.Start();
        await writer.RecordDeferredAsync(SqliteLedgerTests.Row("earlier", T0, 1)); // its commit hangs; "a" waits behind it
        await Eventually(() => store.Entered > 0);

        var error = await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1)).AsTask());

        Assert.Contains("did not commit within", error.Message);
        Assert.True(error.RowKept, "the row stays queued: the caller must not record it again");
        store.Blocked.Set();
        await writer.DisposeAsync();
        // The request was refused (503), so its row is never "ok": it is kept, as failed, so that rows + idle = the bill.
        Assert.Equal(["ok", "ledger_unavailable"], store.Statuses);
    }

    [Fact]
    public async Task RecordAsync_StrictProvisionalRowTimesOut_IsNotWrittenAtAll()
    {
        var store = new CountingStore { Blocked = new ManualResetEventSlim(false) };
        var writer = new LedgerWriter(store, new(LedgerDurability.Strict, TimeSpan.FromSeconds(10), CommitTimeout: TimeSpan.FromMilliseconds(200)));
        writer.Start();
        await writer.RecordDeferredAsync(SqliteLedgerTests.Row("earlier", T0, 1));
        await Eventually(() => store.Entered > 0);

        var error = await Assert.ThrowsAsync<LedgerUnavailableException>(() =>
            writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1) with { Status = LedgerRow.ProvisionalStatus }).AsTask());

        Assert.True(error.RowKept);
        store.Blocked.Set();
        await writer.DisposeAsync();
        Assert.Equal(["ok"], store.Statuses); // a placeholder whose stream never started: its request's final row says what happened
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the writer");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task TryAdmit_StrictStoreFailing_OneProbeAtATimeAndNoneBeforeTheRetryInterval()
    {
        var store = new CountingStore { Failing = true };
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        await using var writer = new LedgerWriter(store, new(LedgerDurability.Strict, TimeSpan.FromMilliseconds(10)), time: time);
        writer.Start();
        Assert.True(writer.TryAdmit(out var none));
        Assert.Null(none);
        await Assert.ThrowsAsync<LedgerUnavailableException>(() => writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1)).AsTask());

        Assert.False(writer.TryAdmit(out _)); // right after the failure: nobody, however often idle rows retry
        time.Advance(LedgerWriter.RetryAfterFailure - TimeSpan.FromMilliseconds(1));
        Assert.False(writer.TryAdmit(out _)); // not a moment before the interval
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(writer.TryAdmit(out var probe));

        Assert.NotNull(probe);
        Assert.False(writer.TryAdmit(out _)); // one at a time
        store.Failing = false;
        await writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1));
        probe!.Dispose();
        Assert.True(writer.IsHealthy);
        Assert.True(writer.TryAdmit(out var afterRecovery));
        Assert.Null(afterRecovery);
    }

    [Fact]
    public async Task DisposeAsync_StoreStillFailing_CountsEveryRowGivenUp()
    {
        var store = new CountingStore { Failing = true };
        var dropped = new List<(string Kind, int Count)>();
        var writer = new LedgerWriter(store, new(LedgerDurability.Relaxed, TimeSpan.FromMilliseconds(10)), onDropped: (kind, count, _) => dropped.Add((kind, count)));
        writer.Start();
        for (var i = 0; i < 5; i++)
        {
            await writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1));
        }

        await writer.RecordIdleAsync(new IdleRow("cpu", T0, 0.1, 1));
        await writer.DisposeAsync();

        Assert.Equal(5, dropped.Where(d => d.Kind == "request").Sum(d => d.Count));
        Assert.Equal(1, dropped.Where(d => d.Kind == "idle").Sum(d => d.Count));
    }

    [Fact]
    public async Task RecordAsync_RelaxedStoreFailsThenRecovers_KeepsRowsAndWritesThemLater()
    {
        var store = new CountingStore { Failing = true };
        var writer = new LedgerWriter(store, new(LedgerDurability.Relaxed, TimeSpan.FromMilliseconds(20)));
        writer.Start();

        for (var i = 0; i < 50; i++)
        {
            await writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 1));
        }

        // Wait until the writer reports the failed write (the store counts a failure before it throws, and the writer
        // marks itself unhealthy after it catches it, so the count alone can be read in between).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (writer.IsHealthy)
        {
            Assert.True(DateTime.UtcNow < deadline, "the writer still reports healthy while its store fails");
            await Task.Delay(10);
        }

        Assert.True(store.Failures > 0);
        store.Failing = false;
        await writer.DisposeAsync();

        Assert.Equal(50, store.Rows);
    }

    [Fact]
    public async Task DisposeAsync_Relaxed_DrainsTheQueueIntoSqlite()
    {
        var directory = Directory.CreateTempSubdirectory("modelmeter-writer-").FullName;
        using var ledger = new SqliteLedger(Path.Combine(directory, "ledger.db"), fullSync: false);
        ledger.Initialize();
        var writer = new LedgerWriter(ledger, new(LedgerDurability.Relaxed, TimeSpan.FromHours(1)));
        writer.Start();
        for (var i = 0; i < 1000; i++)
        {
            await writer.RecordAsync(SqliteLedgerTests.Row("a", T0, 0.001));
        }

        await writer.DisposeAsync();

        Assert.Equal(1000, ledger.Summarize(T0.AddHours(-1), T0.AddHours(1), CostGrouping.Model, IdleSharing.Separate).Rows.Single().Requests);
        Directory.Delete(directory, recursive: true);
    }

    private sealed class CountingStore : ILedgerStore
    {
        private int _rows;
        private int _batches;
        private int _failures;

        public volatile bool Failing;

        public ManualResetEventSlim? Blocked;

        public int Rows => _rows;

        public int Batches => _batches;

        public int Failures => _failures;

        public int Entered => Volatile.Read(ref _entered);

        public List<string> Statuses { get; } = [];

        private int _entered;

        public void Append(IReadOnlyList<LedgerRow> requests, IReadOnlyList<IdleRow> idle)
        {
            Interlocked.Increment(ref _entered);
            Blocked?.Wait();
            if (Failing)
            {
                Interlocked.Increment(ref _failures);
                throw new IOException("disk full");
            }

            Interlocked.Add(ref _rows, requests.Count);
            lock (Statuses)
            {
                Statuses.AddRange(requests.Select(r => r.Status));
            }

            Interlocked.Increment(ref _batches);
            Thread.Sleep(2); // a commit takes time; rows arriving meanwhile join the next batch
        }

        public void Initialize()
        {
        }

        public void Dispose()
        {
        }

        public CostSummary Summarize(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null) => throw new NotSupportedException();

        public IReadOnlyList<CostPoint> Timeseries(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null) => throw new NotSupportedException();

        public LedgerStats Stats(DateTimeOffset from, DateTimeOffset to) => throw new NotSupportedException();

        public LedgerActivity Activity(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null) => throw new NotSupportedException();

        public LedgerTotals Totals() => throw new NotSupportedException();

        public RepriceResult Reprice(DateTimeOffset from, Func<string, DateTimeOffset, (double HourlyUsd, int Version)?> rateAt) => throw new NotSupportedException();
    }
}
