using Microsoft.Data.Sqlite;

namespace ModelMeter.Ledger.Sqlite;

/// <summary>
/// The ledger in one SQLite file (WAL mode). Request rows, idle minutes, and a per-minute rollup kept
/// in the same transaction as the rows, so reports over long windows read minutes, not requests.
/// </summary>
public sealed partial class SqliteLedger : ILedgerStore
{
    /// <summary>The schema version this code writes (<c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 11;

    private readonly string _connectionString;
    private readonly bool _fullSync;
    private readonly bool _outbox;
    private SqliteConnection? _writer;

    /// <param name="path">The database file; its directory is created.</param>
    /// <param name="fullSync">fsync every commit (<c>synchronous=FULL</c>) rather than at checkpoints.</param>
    /// <param name="outbox">Also note every committed row in the outbox, in the same transaction, for a shipper to send on (fleet mode).</param>
    /// <param name="node">This replica's name, the one group of a report by node; default the host name.</param>
    public SqliteLedger(string path, bool fullSync = true, bool outbox = false, string? node = null)
    {
        Node = node ?? Environment.MachineName;
        Path = System.IO.Path.GetFullPath(path);
        _fullSync = fullSync;
        _outbox = outbox;
        // A busy database (another writer holding the lock) fails a command after 5 s rather than the default 30.
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, DefaultTimeout = 5 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>This replica's name in reports by node.</summary>
    public string Node { get; }

    /// <inheritdoc />
    public void Initialize() => Initialize(create: true);

    /// <summary>Opens the ledger, bringing an older schema up to <see cref="SchemaVersion"/>.</summary>
    /// <param name="create">
    /// Whether a file with no ledger in it yet (new, or an empty SQLite file) becomes one; false (the reports of the command
    /// line) refuses it, so that reading a wrong path writes nothing there.
    /// </param>
    /// <exception cref="InvalidOperationException">
    /// The file is a SQLite database of something else (tables, but no ledger schema: nothing is added to it), a schema
    /// newer than this build's, or no ledger while <paramref name="create"/> is false.
    /// </exception>
    public void Initialize(bool create)
    {
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (create && !string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _writer = Open();
        var version = Convert.ToInt32(Scalar(_writer, "PRAGMA user_version;"));
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"{Path} has ledger schema {version}; this build knows up to {SchemaVersion}.");
        }

        var tables = Convert.ToInt64(Scalar(_writer, "SELECT count(*) FROM sqlite_master WHERE type = 'table';"));
        var hasRequests = Convert.ToInt64(Scalar(_writer, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'requests';")) > 0;
        if (version == 0 ? tables > 0 : !hasRequests)
        {
            throw new InvalidOperationException($"{Path} is a SQLite database of something else, not a ledger (it has tables but no ledger schema); nothing was added to it.");
        }

        if (version == 0 && !create)
        {
            throw new InvalidOperationException($"{Path} holds no ledger (an empty SQLite file); nothing was written to it.");
        }

        Execute(_writer, "PRAGMA journal_mode=WAL;");
        Execute(_writer, _fullSync ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");

        using var transaction = _writer.BeginTransaction();
        for (var step = version + 1; step <= SchemaVersion; step++)
        {
            foreach (var statement in Migrations[step - 1])
            {
                Execute(_writer, statement, transaction);
            }
        }

        Execute(_writer, $"PRAGMA user_version={SchemaVersion};", transaction);
        transaction.Commit();
    }

    /// <inheritdoc />
    public void Dispose() => _writer?.Dispose();

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA busy_timeout=5000;");
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static long MinuteOf(long ms) => Floor(ms, MinuteMs);

    private static long Floor(long ms, long unit) => ms - (((ms % unit) + unit) % unit);

    private static long Ceiling(long ms, long unit) => Floor(ms, unit) == ms ? ms : Floor(ms, unit) + unit;

    /// <summary>Schema steps: index i takes the schema from version i to i + 1.</summary>
    private static readonly string[][] Migrations =
    [
        [
            """
            CREATE TABLE requests (
                id INTEGER PRIMARY KEY,
                request_id TEXT NOT NULL,
                started_ms INTEGER NOT NULL,
                ended_ms INTEGER NOT NULL,
                model TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                tenant TEXT NOT NULL,
                user TEXT NOT NULL,
                device TEXT NOT NULL,
                input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                latency_seconds REAL NOT NULL,
                ttft_seconds REAL,
                cost_usd REAL NOT NULL,
                status TEXT NOT NULL,
                hourly_usd REAL NOT NULL)
            """,
            "CREATE INDEX requests_by_end ON requests (ended_ms)",
            """
            CREATE TABLE idle (
                device TEXT NOT NULL,
                minute_ms INTEGER NOT NULL,
                cost_usd REAL NOT NULL,
                hourly_usd REAL NOT NULL,
                PRIMARY KEY (device, minute_ms))
            """,
            // Per-minute totals; users are left out so that the rollup stays small (user reports read requests).
            RollupTable("rollup_minute"),
        ],
        [
            // Version 2: hourly totals, so reports over months read hours.
            RollupTable("rollup_hour"),
            $"""
            INSERT INTO rollup_hour (bucket_ms, model, endpoint, tenant, device, status, requests, input_tokens, output_tokens, cost_usd)
            SELECT ended_ms - (ended_ms % {HourMs}), model, endpoint, tenant, device, status, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd)
            FROM requests GROUP BY 1, 2, 3, 4, 5, 6
            """,
        ],
        [
            // Version 3: the rate-card version each request was charged at (-1: not recorded).
            "ALTER TABLE requests ADD COLUMN rate_version INTEGER NOT NULL DEFAULT -1",
        ],
        [
            // Version 4: 1 where the token counts were estimated because an upstream reported none.
            "ALTER TABLE requests ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0",
        ],
        [
            // Version 5: when the request started on its device (its rate's moment); older rows only know their arrival.
            "ALTER TABLE requests ADD COLUMN device_started_ms INTEGER",
            "UPDATE requests SET device_started_ms = started_ms",
        ],
        [
            // Version 6: each device minute's whole bill, busy time included (null for older rows).
            "ALTER TABLE idle ADD COLUMN bill_usd REAL",
        ],
        [
            // Version 7: provisional rows of streams in flight are found by id when their final row replaces them.
            "CREATE INDEX requests_provisional ON requests (request_id) WHERE status = 'provisional'",
        ],
        [
            // Version 8: rows committed here and not yet shipped to the fleet ledger, in commit order (a request row by its
            // rowid; an idle minute by its key, whose latest value is shipped).
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_rowid INTEGER, idle_device TEXT, idle_minute_ms INTEGER)",
        ],
        [
            // Version 9: this file's own random id: shipments name it, so a file made anew (its outbox numbered from 1
            // again) never takes the place of an earlier file's shipments in the fleet ledger.
            "CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "INSERT INTO ledger_meta (key, value) VALUES ('spool', lower(hex(randomblob(16))))",
        ],
        [
            // Version 10: the parts of the tokens a paid API prices apart (cache reads and writes of the prompt, reasoning in the
            // output); each is included in input_tokens or output_tokens, not added to them. Older rows: 0.
            .. DetailColumns("requests"),
            .. DetailColumns("rollup_minute"),
            .. DetailColumns("rollup_hour"),
        ],
        [
            // Version 11: energy (joules) and its carbon (grams of CO2e), split like cost; an idle minute also keeps the
            // device's whole energy in it. Older rows: 0.
            .. EnergyColumns("requests"),
            .. EnergyColumns("rollup_minute"),
            .. EnergyColumns("rollup_hour"),
            .. EnergyColumns("idle"),
            "ALTER TABLE idle ADD COLUMN bill_energy_j REAL NOT NULL DEFAULT 0",
            "ALTER TABLE idle ADD COLUMN bill_co2e_g REAL NOT NULL DEFAULT 0",
        ],
    ];

    private static string[] EnergyColumns(string table) =>
    [
        $"ALTER TABLE {table} ADD COLUMN energy_j REAL NOT NULL DEFAULT 0",
        $"ALTER TABLE {table} ADD COLUMN co2e_g REAL NOT NULL DEFAULT 0",
    ];

    private static string[] DetailColumns(string table) =>
    [
        $"ALTER TABLE {table} ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0",
        $"ALTER TABLE {table} ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0",
        $"ALTER TABLE {table} ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0",
    ];

    /// <summary>The detail and energy columns' sums, for a SELECT over requests or a rollup (five columns).</summary>
    private const string DetailSums = "SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(reasoning_tokens), SUM(energy_j), SUM(co2e_g)";

    private static Pricing.TokenDetails DetailsAt(SqliteDataReader reader, int first) =>
        new(reader.GetInt64(first), reader.GetInt64(first + 1), reader.GetInt64(first + 2));

    private const long MinuteMs = 60_000;
    private const long HourMs = 3_600_000;

    private static string RollupTable(string name) => $"""
        CREATE TABLE {name} (
            bucket_ms INTEGER NOT NULL,
            model TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            tenant TEXT NOT NULL,
            device TEXT NOT NULL,
            status TEXT NOT NULL,
            requests INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            PRIMARY KEY (bucket_ms, model, endpoint, tenant, device, status))
        """;
}
