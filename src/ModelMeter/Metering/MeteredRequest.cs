using System.Runtime.CompilerServices;
using ModelMeter.Allocation;

namespace ModelMeter.Metering;

/// <summary>
/// One request being metered. Call <see cref="StartOnDevice"/> when it starts computing, report tokens,
/// then exactly one of <see cref="Complete"/> or <see cref="Fail"/>. Not thread-safe: one request, one caller.
/// </summary>
/// <remarks>
/// One of these is allocated per request, so its fields are few and small (benchmarked in <c>MeteringBenchmarks</c>): the
/// start is one reading of the clock, the first token an offset from it, and the rarely used token details a box of their
/// own. Clock readings are the dearest part of the path (about 30 ns each on a VM): the device's reading at its start and
/// end also gives the queue wait and the latency, so a request on a device reads the clock four times in all. Latency is
/// the wall clock's (the ledger's end less its start), never negative.
/// </remarks>
public sealed class MeteredRequest
{
    private const long NoFirstToken = -1;
    private readonly ModelInstruments _model;
    private readonly EndpointSeries _endpoint;
    private readonly long _startedTicks;
    private long _firstTokenAfter = NoFirstToken;
    // The allocation ticket's parts, kept as fields of their own: the ticket as one field would carry four bytes of
    // padding, and with them the object would be 128 bytes instead of 120.
    private DeviceShare _ticketSnapshot;
    private long _deviceStartedTicks;
    private int _rateVersion;
    private StrongBox<Pricing.TokenDetails>? _details;
    private bool _onDevice;
    private bool _ended;

    internal MeteredRequest(ModelInstruments model, EndpointSeries endpoint)
    {
        _model = model;
        _endpoint = endpoint;
        _startedTicks = model.Time.GetUtcNow().UtcTicks;
    }

    /// <summary>The model's name.</summary>
    public string Model => _model.Model;

    /// <summary>The device the model runs on, or empty for a model priced per token.</summary>
    public string Device => _model.Device?.Device ?? "";

    /// <summary>The endpoint label value.</summary>
    public string Endpoint => _endpoint.Endpoint;

    /// <summary>Who pays: a tenant name (from the API key, or a header when auth is off).</summary>
    public string Tenant { get; set; } = "anonymous";

    /// <summary>The end user, for the ledger only; never a metric label.</summary>
    public string? User { get; set; }

    /// <summary>Prompt tokens.</summary>
    public int InputTokens { get; set; }

    /// <summary>Tokens generated so far.</summary>
    public int OutputTokens { get; private set; }

    /// <summary>The cached, cache-written and reasoning parts of the counts (a paid API's report; zero otherwise).</summary>
    public Pricing.TokenDetails Details
    {
        get => _details?.Value ?? default;
        private set
        {
            if (_details is not null)
            {
                _details.Value = value;
            }
            else if (value != default)
            {
                _details = new(value);
            }
        }
    }

    /// <summary>Whether the token counts were estimated by ModelMeter rather than reported by the backend.</summary>
    public bool UsageEstimated { get; set; }

    /// <summary>Seconds from the start to the first token, once there is one.</summary>
    public double? TimeToFirstTokenSeconds => _firstTokenAfter == NoFirstToken ? null : Seconds(_firstTokenAfter);

    private DateTimeOffset StartedAt => new(_startedTicks, TimeSpan.Zero);

    /// <summary>When the request started on its device (meaningful once it has).</summary>
    private DateTimeOffset DeviceStartedAt => new(_deviceStartedTicks, TimeSpan.Zero);

    private AllocationTicket Ticket
    {
        get => new(_ticketSnapshot, _deviceStartedTicks, _rateVersion);
        set => (_ticketSnapshot, _deviceStartedTicks, _rateVersion) = (value.Snapshot, value.StartedTicks, value.RateVersion);
    }

    /// <summary>Whether the request is on a device (not a model priced per token) and started on it.</summary>
    private bool OnDevice => _onDevice && _model.Group is not null;

    /// <summary>The request starts using its device (or its paid API): from now on it shares the device's cost.</summary>
    public void StartOnDevice()
    {
        var now = _model.Group is { } group ? (Ticket = group.Start()).StartedTicks : _model.Time.GetUtcNow().UtcTicks;
        _onDevice = true;
        if (_model.Group is null)
        {
            Interlocked.Increment(ref _model.PricedInFlight);
        }

        _model.QueueWait.Observe(Seconds(now - _startedTicks));
    }

    /// <summary>The backend has generated <paramref name="outputTokens"/> tokens so far; the first one marks the time to first token.</summary>
    /// <remarks>Called for every token: small enough to be inlined, the first token's clock reading is a call of its own.</remarks>
    public void TokensSoFar(int outputTokens)
    {
        if (_firstTokenAfter == NoFirstToken && outputTokens > 0)
        {
            MarkFirstToken();
        }

        OutputTokens = Math.Max(OutputTokens, outputTokens);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MarkFirstToken() => _firstTokenAfter = Math.Max(_model.Time.GetUtcNow().UtcTicks - _startedTicks, 0);

    /// <summary>
    /// The final counts, as the backend reported them (or estimated): they replace the running count. <paramref name="details"/>
    /// are parts of them (cached input at most the input, reasoning at most the output).
    /// </summary>
    public void SetUsage(int inputTokens, int outputTokens, bool estimated, Pricing.TokenDetails details = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(outputTokens);
        if (details.CachedInput < 0 || details.CacheWrite < 0 || details.Reasoning < 0
            || details.CachedInput + details.CacheWrite > inputTokens || details.Reasoning > outputTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(details), details, "Cached and written tokens are part of the input, reasoning tokens part of the output.");
        }

        TokensSoFar(outputTokens);
        InputTokens = inputTokens;
        OutputTokens = outputTokens;
        UsageEstimated = estimated;
        Details = details;
    }

    /// <summary>
    /// The cached, cache-written and reasoning parts of the counts, reported apart from them (library scopes); cut to the
    /// input and output counts when the request ends.
    /// </summary>
    public void SetDetails(Pricing.TokenDetails details)
    {
        if (details.CachedInput < 0 || details.CacheWrite < 0 || details.Reasoning < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(details), details, "Token counts cannot be negative.");
        }

        Details = details;
    }

    /// <summary>Forgets the token counts: for a request its paid API refused, which is not charged.</summary>
    public void ClearTokens()
    {
        InputTokens = 0;
        OutputTokens = 0;
        Details = default;
    }

    /// <summary>The request succeeded: charges it, counts it and returns what it cost.</summary>
    public RequestCharge Complete()
    {
        var charge = Finish();
        MarkServed(charge);
        return charge;
    }

    /// <summary>
    /// The generation ended well: charges its device time (cost and tokens are counted) but does not count it as
    /// served yet; then exactly one of <see cref="MarkServed"/> (its answer is delivered) or <see cref="MarkFailed"/>.
    /// </summary>
    public RequestCharge Finish() => End(errorType: null);

    /// <summary>A finished request's answer was delivered: counts it as served, with its latency.</summary>
    public void MarkServed(RequestCharge charge)
    {
        Interlocked.Increment(ref _endpoint.Served); // published on collection
        _model.Duration.Observe(charge.LatencySeconds);
        if (TimeToFirstTokenSeconds is { } firstToken)
        {
            _model.FirstToken.Observe(firstToken);
        }
    }

    /// <summary>A finished request could not be delivered (its row could not be committed): counted as failed with <paramref name="reason"/>.</summary>
    public void MarkFailed(string reason) => _model.Metrics.Errors.WithLabels(_model.Model, _endpoint.Endpoint, reason).Inc();

    /// <summary>
    /// The request failed with <paramref name="reason"/> (one of <see cref="ErrorReason"/>). Device time it
    /// used is still charged to its model, and tokens it made are counted; it is not counted as served.
    /// </summary>
    public RequestCharge Fail(string reason)
    {
        var charge = End(errorType: reason);
        _model.Metrics.Errors.WithLabels(_model.Model, _endpoint.Endpoint, reason).Inc();
        return charge;
    }

    /// <summary>The ledger row of this request once it has ended.</summary>
    public Ledger.LedgerRow ToLedgerRow(string requestId, RequestCharge charge, string status) => new(
        requestId, charge.StartedAt, charge.EndedAt, Model, Endpoint, Tenant, User ?? "", Device,
        InputTokens, OutputTokens, charge.LatencySeconds, charge.TimeToFirstTokenSeconds, charge.CostUsd, status, charge.HourlyUsd, charge.RateVersion)
    {
        UsageEstimated = UsageEstimated,
        DeviceStartedAt = charge.DeviceStartedAt,
        Details = Details,
        EnergyJoules = charge.EnergyJoules,
        Co2eGrams = charge.Co2eGrams,
    };

    /// <summary>
    /// The row a stream commits before its first token in Strict durability: what is known now, the status
    /// <c>provisional</c>, and <paramref name="reservedUsd"/> (its budget reservation) where the cost will be.
    /// </summary>
    public Ledger.LedgerRow ToProvisionalRow(string requestId, double reservedUsd)
    {
        var now = _model.Time.GetUtcNow();
        return new(
            requestId, StartedAt, now, Model, Endpoint, Tenant, User ?? "", Device,
            InputTokens, 0, Seconds(now.UtcTicks - _startedTicks), null, reservedUsd, Ledger.LedgerRow.ProvisionalStatus, HourlyUsd, OnDevice ? _rateVersion : -1)
        {
            DeviceStartedAt = OnDevice ? DeviceStartedAt : null,
        };
    }

    /// <summary>The device's rate when the request started on it; 0 if it never did.</summary>
    private double HourlyUsd => OnDevice ? _model.Device!.Rates.HourlyUsdOf(_rateVersion) : 0;

    /// <summary>Seconds of <paramref name="ticks"/> (a clock that stepped back gives 0).</summary>
    private static double Seconds(long ticks) => ticks > 0 ? (double)ticks / TimeSpan.TicksPerSecond : 0;

    private RequestCharge End(string? errorType)
    {
        if (_ended)
        {
            throw new InvalidOperationException("This request has already ended.");
        }

        _ended = true;
        if (_details is not null)
        {
            Details = Details.Within(InputTokens, OutputTokens);
        }

        var share = default(DeviceShare);
        var endedAt = default(DateTimeOffset);
        if (_onDevice)
        {
            if (_model.Group is { } group)
            {
                // The device's clock, read once for the share and the end. The model's in-flight count, cost, energy and
                // carbon are its allocation group's, published when the metrics are collected (ModelInstruments.Publish).
                share = group.End(Ticket, out endedAt);
            }
            else
            {
                share = new(_model.Price!.CostUsd(InputTokens, OutputTokens, Details), 0, 0);
                Interlocked.Decrement(ref _model.PricedInFlight);
                _model.Cost.Inc(share.Usd);
            }

            if (_model.TenantCost.TryGetValue(Tenant, out var tenantCost))
            {
                tenantCost.Inc(share.Usd);
            }
        }

        Interlocked.Add(ref _model.InputTotal, InputTokens);
        Interlocked.Add(ref _model.OutputTotal, OutputTokens);
        if (_details is not null)
        {
            IncIfAny(_model.CachedInputTokens, Details.CachedInput);
            IncIfAny(_model.CacheWriteTokens, Details.CacheWrite);
            IncIfAny(_model.ReasoningTokens, Details.Reasoning);
        }

        if (endedAt == default)
        {
            endedAt = _model.Time.GetUtcNow();
        }

        var latencySeconds = Seconds(endedAt.UtcTicks - _startedTicks);
        var firstToken = TimeToFirstTokenSeconds;
        _model.Metrics.GenAi.Record(_model.Model, errorType, latencySeconds, firstToken, InputTokens, OutputTokens);
        return new RequestCharge(share.Usd, latencySeconds, firstToken, StartedAt, endedAt, HourlyUsd, OnDevice ? _rateVersion : -1,
            OnDevice ? DeviceStartedAt : null)
        {
            EnergyJoules = share.Joules,
            Co2eGrams = share.Co2eGrams,
        };
    }

    private static void IncIfAny(Prometheus.Counter.Child counter, double increment)
    {
        if (increment != 0)
        {
            counter.Inc(increment);
        }
    }
}
