namespace ModelMeter.Ledger;

/// <summary>Cost reports over ledger rows: one replica's SQLite file, or the whole fleet's ClickHouse.</summary>
public interface ILedgerReports
{
    /// <summary>
    /// Request and idle cost in [<paramref name="from"/>, <paramref name="to"/>), grouped (requests by end time, idle by
    /// minute). With a <paramref name="filter"/>, only its model's or tenant's requests, and no idle time (it belongs to no model or tenant).
    /// </summary>
    Task<CostSummary> SummarizeAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>Cost (requests plus idle) per group and per <paramref name="step"/>-long bucket; with a <paramref name="filter"/>, only its requests.</summary>
    Task<IReadOnlyList<CostPoint>> TimeseriesAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null, CancellationToken cancellationToken = default);

    /// <summary>Per-model request figures (tokens, cost, latency quantiles) and counts by endpoint and status, for requests ending in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    Task<LedgerStats> StatsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>Requests, failures and served latency per <paramref name="step"/>-long bucket (by end time); only <paramref name="model"/>'s when given.</summary>
    Task<LedgerActivity> ActivityAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null, CancellationToken cancellationToken = default);
}

/// <summary>Where a replica's ledger rows are committed and read back. Implementation: SQLite (embedded, and each replica's spool in fleet mode).</summary>
public interface ILedgerStore : ILedgerReports, IDisposable
{
    /// <summary>Request and idle cost (see <see cref="ILedgerReports.SummarizeAsync"/>).</summary>
    CostSummary Summarize(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter = null);

    /// <summary>Cost per group and bucket (see <see cref="ILedgerReports.TimeseriesAsync"/>).</summary>
    IReadOnlyList<CostPoint> Timeseries(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter = null);

    Task<CostSummary> ILedgerReports.SummarizeAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, IdleSharing idle, CostFilter? filter, CancellationToken cancellationToken) =>
        Task.FromResult(Summarize(from, to, by, idle, filter));

    Task<IReadOnlyList<CostPoint>> ILedgerReports.TimeseriesAsync(DateTimeOffset from, DateTimeOffset to, CostGrouping by, TimeSpan step, CostFilter? filter, CancellationToken cancellationToken) =>
        Task.FromResult(Timeseries(from, to, by, step, filter));

    /// <summary>Per-model request figures and counts by endpoint and status (see <see cref="ILedgerReports.StatsAsync"/>).</summary>
    LedgerStats Stats(DateTimeOffset from, DateTimeOffset to);

    Task<LedgerStats> ILedgerReports.StatsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        Task.FromResult(Stats(from, to));

    /// <summary>Requests, failures and latency over time (see <see cref="ILedgerReports.ActivityAsync"/>).</summary>
    LedgerActivity Activity(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model = null);

    Task<LedgerActivity> ILedgerReports.ActivityAsync(DateTimeOffset from, DateTimeOffset to, TimeSpan step, string? model, CancellationToken cancellationToken) =>
        Task.FromResult(Activity(from, to, step, model));

    /// <summary>Creates or migrates the schema.</summary>
    void Initialize();

    /// <summary>Writes a batch in one transaction: all rows or none.</summary>
    void Append(IReadOnlyList<LedgerRow> requests, IReadOnlyList<IdleRow> idle);

    /// <summary>All-time totals, to seed the Prometheus counters at start.</summary>
    LedgerTotals Totals();

    /// <summary>
    /// Recomputes the cost of rows from <paramref name="from"/> on with <paramref name="rateAt"/>: (device, time) → the
    /// rate and rate-card version now configured for that moment, or null to leave the row as it is.
    /// </summary>
    RepriceResult Reprice(DateTimeOffset from, Func<string, DateTimeOffset, (double HourlyUsd, int Version)?> rateAt);
}

/// <summary>One bucket of a cost time series.</summary>
public sealed record CostPoint(string Key, DateTimeOffset Start, double CostUsd)
{
    /// <summary>The bucket's energy, joules.</summary>
    public double EnergyJoules { get; init; }

    /// <summary>The carbon of that energy, grams of CO2e.</summary>
    public double Co2eGrams { get; init; }
}

/// <summary>What a reprice changed.</summary>
public sealed record RepriceResult(long RowsChanged, double OldTotalUsd, double NewTotalUsd);

/// <summary>All-time ledger totals.</summary>
public sealed record LedgerTotals(
    IReadOnlyDictionary<string, double> CostUsdByModel,
    IReadOnlyDictionary<(string Model, string Endpoint), long> ServedByModelEndpoint,
    IReadOnlyDictionary<(string Model, string Direction), long> TokensByModel,
    IReadOnlyDictionary<(string Model, string Tenant), double> CostUsdByModelTenant,
    IReadOnlyDictionary<string, double> IdleUsdByDevice,
    IReadOnlyDictionary<string, double> RequestCostUsdByDevice,
    IReadOnlyDictionary<string, double>? BillUsdByDevice = null)
{
    /// <summary>Each model's energy and carbon (the <see cref="Allocation.DeviceShare.Usd"/> part unused).</summary>
    public IReadOnlyDictionary<string, Allocation.DeviceShare>? EnergyByModel { get; init; }

    /// <summary>Each device's whole and idle energy and carbon (the <see cref="Allocation.DeviceShare.Usd"/> parts unused).</summary>
    public IReadOnlyDictionary<string, (Allocation.DeviceShare Bill, Allocation.DeviceShare Idle)>? EnergyByDevice { get; init; }
}
