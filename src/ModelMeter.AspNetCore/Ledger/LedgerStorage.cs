using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Ledger;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.Ledger.Sqlite;
using ModelMeter.Metering;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>
/// Opens the ledger before the server listens (the SQLite file, migrated; in fleet mode also the ClickHouse ledger that
/// reports read), makes its writer, and drains the writer when the host stops. Requests write their rows through it
/// (<see cref="ILedgerRecorder"/>), which exists from the start. Registered before the other ledger services, so it
/// stops after them (the last idle minute is written before the drain).
/// </summary>
internal sealed partial class LedgerStorage(
    IOptions<ModelMeterOptions> options, IHostEnvironment environment, IHttpClientFactory http, ModelMeterMetrics metrics, TimeProvider time, ILogger<LedgerStorage> logger)
    : IHostedService, ILedgerRecorder, IAsyncDisposable
{
    /// <summary>The named HTTP client that talks to ClickHouse (timeouts and retries from configuration).</summary>
    public const string ClickHouseClientName = "ModelMeter.ClickHouse";

    private SqliteLedger? _store;
    private LedgerWriter? _writer;
    private int _stopped;

    /// <summary>This replica's SQLite ledger.</summary>
    public SqliteLedger Store => _store ?? throw NotOpen();

    /// <summary>The fleet ledger in ClickHouse mode, else null.</summary>
    public ClickHouseLedger? Fleet { get; private set; }

    /// <summary>Where reports read: this replica's store, or the fleet's ClickHouse ledger.</summary>
    public ILedgerReports Reports => (ILedgerReports?)Fleet ?? Store;

    /// <summary>The writer of this replica's rows.</summary>
    public LedgerWriter Writer => _writer ?? throw NotOpen();

    public LedgerDurability Durability => Writer.Durability;

    public bool IsHealthy => Writer.IsHealthy;

    public bool TryAdmit(out IDisposable? probe) => Writer.TryAdmit(out probe);

    public ValueTask RecordAsync(LedgerRow row, CancellationToken cancellationToken = default) => Writer.RecordAsync(row, cancellationToken);

    public ValueTask RecordDeferredAsync(LedgerRow row) => Writer.RecordDeferredAsync(row);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value.Ledger;
        var path = Path.GetFullPath(o.Path, environment.ContentRootPath);
        var node = options.Value.Node ?? Environment.MachineName; // the local file's name for itself; shipping adds the port
        var store = new SqliteLedger(path, fullSync: o.Durability == LedgerDurability.Strict, outbox: o.UsesClickHouse, node: node);
        try
        {
            store.Initialize();
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            store.Dispose();
            throw new InvalidOperationException(
                $"ModelMeter:Ledger:Path: the ledger at {path} cannot be opened ({e.Message.TrimEnd('.')}). Point Ledger:Path at a SQLite file this " +
                "process can write (a new path starts a new ledger), or move the unreadable file aside; nothing was started.", e);
        }

        _store = store;
        _writer = new LedgerWriter(
            store,
            new LedgerWriterOptions(o.Durability, TimeSpan.FromMilliseconds(o.FlushIntervalMs), o.QueueCapacity, TimeSpan.FromMilliseconds(o.CommitTimeoutMs)),
            e => LogWriteFailed(e, path),
            (kind, count, why) =>
            {
                metrics.LedgerRowsDropped.WithLabels(kind).Inc(count);
                LogRowsDropped(count, kind, why, path);
            },
            time);
        _writer.Start();
        if (o.UsesClickHouse)
        {
            Fleet = o.ClickHouse.CreateLedger(http.CreateClient(ClickHouseClientName), options.Value.SharedDevices);
        }

        LogOpened(path, o.Durability);
        return Task.CompletedTask;
    }

    /// <summary>Commits what is queued (the ledger services registered after this one have stopped and written their last rows).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null && Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _writer.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync()
    {
        _store?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static InvalidOperationException NotOpen() => new("The ledger is not open yet: it opens when the host starts.");

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Ledger at {Path} ({Durability})")]
    private partial void LogOpened(string path, LedgerDurability durability);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, Message = "The ledger at {Path} could not write")]
    private partial void LogWriteFailed(Exception exception, string path);

    [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Gave up {Count} ledger {Kind} rows: {Why} ({Path})")]
    private partial void LogRowsDropped(int count, string kind, string why, string path);
}
