using Microsoft.Data.Sqlite;
using ModelMeter.Ledger;
using ModelMeter.Ledger.Sqlite;

namespace ModelMeter.Tests.Ledger;

/// <summary>Fleet mode's local spool: what is committed is noted in the outbox in the same transaction, and leaves it once acknowledged.</summary>
public sealed class SqliteOutboxTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("modelmeter-outbox-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void CommittedRows_WaitInOrder_AProvisionalRowReplacedBeforeShippingIsNot_IdleMinutesAsTheyStandNow()
    {
        using var ledger = Open(outbox: true);
        var provisional = SqliteLedgerTests.Row("demo-small", T0, 0.5) with { RequestId = "stream-1", Status = LedgerRow.ProvisionalStatus };
        ledger.Append([provisional], [new IdleRow("cpu", T0, 0.1, 0.17)]);
        ledger.Append([SqliteLedgerTests.Row("demo-small", T0.AddSeconds(1), 0.25) with { RequestId = "plain-1" }], [new IdleRow("cpu", T0, 0.2, 0.17)]);
        ledger.Append([provisional with { Status = "ok", CostUsd = 0.75, EndedAt = T0.AddSeconds(2) }], []);

        var batch = ledger.ReadOutbox(100);

        Assert.Equal(["plain-1", "stream-1"], batch.Requests.Select(r => r.RequestId));
        Assert.Equal(0.75, batch.Requests[1].CostUsd);
        var idle = Assert.Single(batch.Idle);
        Assert.Equal(0.1 + 0.2, idle.Row.CostUsd, 12); // the minute's value now, once
        Assert.Equal(T0, ledger.OldestUnshipped());

        ledger.AcknowledgeOutbox(batch.LastSeq);
        Assert.True(ledger.ReadOutbox(100).IsEmpty);
        Assert.Null(ledger.OldestUnshipped());

        ledger.Append([], [new IdleRow("cpu", T0, 0.05, 0.17)]);
        var again = Assert.Single(ledger.ReadOutbox(100).Idle);
        Assert.True(again.Seq > idle.Seq, "a later change of the same minute must carry a later version");
        Assert.Equal(0.35, again.Row.CostUsd, 12);
    }

    [Fact]
    public void AProvisionalRowNotYetReplaced_IsShipped_SoACrashMidStreamReachesTheFleet()
    {
        using var ledger = Open(outbox: true);
        var provisional = SqliteLedgerTests.Row("demo-small", T0, 0.5) with { RequestId = "stream-1", Status = LedgerRow.ProvisionalStatus };
        ledger.Append([provisional], []);

        var batch = ledger.ReadOutbox(100);
        ledger.AcknowledgeOutbox(batch.LastSeq);
        ledger.Append([provisional with { Status = "ok", CostUsd = 0.75, EndedAt = T0.AddSeconds(2) }], []); // after a restart, or it ended

        Assert.Equal(("stream-1", LedgerRow.ProvisionalStatus), (batch.Requests.Single().RequestId, batch.Requests.Single().Status));
        Assert.Equal(("stream-1", "ok"), (ledger.ReadOutbox(100).Requests.Single().RequestId, ledger.ReadOutbox(100).Requests.Single().Status));
    }

    [Fact]
    public void ABatchLimit_ReturnsTheOldestEntriesAndSaysMoreMayWait()
    {
        using var ledger = Open(outbox: true);
        ledger.Append([.. Enumerable.Range(0, 5).Select(i => SqliteLedgerTests.Row("demo-small", T0.AddSeconds(i), 0.01) with { RequestId = $"r{i}" })], []);

        var first = ledger.ReadOutbox(3);
        Assert.Equal(3, first.Entries);
        Assert.Equal(["r0", "r1", "r2"], first.Requests.Select(r => r.RequestId));
        ledger.AcknowledgeOutbox(first.LastSeq);
        Assert.Equal(["r3", "r4"], ledger.ReadOutbox(3).Requests.Select(r => r.RequestId));
    }

    [Fact]
    public void WithoutFleetMode_NothingIsNoted()
    {
        using var ledger = Open(outbox: false);
        ledger.Append([SqliteLedgerTests.Row("demo-small", T0, 0.25)], [new IdleRow("cpu", T0, 0.1, 0.17)]);

        Assert.True(ledger.ReadOutbox(100).IsEmpty);
    }

    private SqliteLedger Open(bool outbox)
    {
        var ledger = new SqliteLedger(Path.Combine(_directory, $"ledger-{outbox}.db"), outbox: outbox);
        ledger.Initialize();
        return ledger;
    }
}
