using ModelMeter.Allocation;
using Prometheus;

namespace ModelMeter.Metering;

/// <summary>
/// One request being metered. Call <see cref="StartOnDevice"/> when it starts computing, report tokens,
/// then exactly one of <see cref="Complete"/> or <see cref="Fail"/>. Not thread-safe: one request, one caller.
/// </summary>
public sealed class MeteredRequest
{
    private readonly ModelInstruments _model;
    private readonly string _endpoint;
    private readonly Counter.Child _requests;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly DateTimeOffset _startedAt;
    private AllocationTicket _ticket;
    private bool _onDevice;
    private bool _ended;

    internal MeteredRequest(ModelInstruments model, string endpoint, Counter.Child requests, TimeProvider time)
    {
        _model = model;
        _endpoint = endpoint;
        _requests = requests;
        _time = time;
        _started = time.GetTimestamp();
        _startedAt = time.GetUtcNow();
    }

    /// <summary>The model's name.</summary>
    public string Model => _model.Model;

    /// <summary>The device the model runs on, or empty for a model priced per token.</summary>
    public string Device => _model.Device?.Device ?? "";

    /// <summary>The endpoint label value.</summary>
    public string Endpoint => _endpoint;

    /// <summary>Who pays: a tenant name (from the API key, or a header when auth is off).</summary>
    public string Tenant { get; set; } = "anonymous";

    /// <summary>The end user, for the ledger only; never a metric label.</summary>
    public string? User { get; set; }

    /// <summary>Prompt tokens.</summary>
    public int InputTokens { get; set; }

    /// <summary>Tokens generated so far.</summary>
    public int OutputTokens { get; private set; }

    /// <summary>The cached, cache-written and reasoning parts of the counts (a paid API's report; zero otherwise).</summary>
    public Pricing.TokenDetails Details { get; private set; }

    /// <summary>Whether the token counts were estimated by ModelMeter rather than reported by the backend.</summary>
    public bool UsageEstimated { get; set; }

    /// <summary>Seconds from the start to the first token, once there is one.</summary>
    public double? TimeToFirstTokenSeconds { get; private set; }

    /// <summary>The request starts using its device (or its paid API): from now on it shares the device's cost.</summary>
    public void StartOnDevice()
    {
        if (_model.Group is { } group)
        {
            _ticket = group.Start();
        }

        _onDevice = true;
        _model.InFlight.Inc();
        _model.Metrics.QueueWait.WithLabels(_model.Model).Observe(_time.GetElapsedTime(_started).TotalSeconds);
    }

    /// <summary>The backend has generated <paramref name="outputTokens"/> tokens so far; the first one marks the time to first token.</summary>
    public void TokensSoFar(int outputTokens)
    {
        if (outputTokens > 0 && TimeToFirstTokenSeconds is null)
        {
            TimeToFirstTokenSeconds = _time.GetElapsedTime(_started).TotalSeconds;
        }

        OutputTokens = Math.Max(OutputTokens, outputTokens);
    }

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
        _requests.Inc();
        _model.Duration.Observe(charge.LatencySeconds);
        if (TimeToFirstTokenSeconds is { } firstToken)
        {
            _model.FirstToken.Observe(firstToken);
        }
    }

    /// <summary>A finished request could not be delivered (its row could not be committed): counted as failed with <paramref name="reason"/>.</summary>
    public void MarkFailed(string reason) => _model.Metrics.Errors.WithLabels(_model.Model, _endpoint, reason).Inc();

    /// <summary>
    /// The request failed with <paramref name="reason"/> (one of <see cref="ErrorReason"/>). Device time it
    /// used is still charged to its model, and tokens it made are counted; it is not counted as served.
    /// </summary>
    public RequestCharge Fail(string reason)
    {
        var charge = End(errorType: reason);
        _model.Metrics.Errors.WithLabels(_model.Model, _endpoint, reason).Inc();
        return charge;
    }

    /// <summary>The ledger row of this request once it has ended.</summary>
    public Ledger.LedgerRow ToLedgerRow(string requestId, RequestCharge charge, string status) => new(
        requestId, charge.StartedAt, charge.EndedAt, Model, _endpoint, Tenant, User ?? "", Device,
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
    public Ledger.LedgerRow ToProvisionalRow(string requestId, double reservedUsd) => new(
        requestId, _startedAt, _time.GetUtcNow(), Model, _endpoint, Tenant, User ?? "", Device,
        InputTokens, 0, _time.GetElapsedTime(_started).TotalSeconds, null, reservedUsd, Ledger.LedgerRow.ProvisionalStatus,
        _onDevice && _model.Device is not null ? _ticket.HourlyUsd : 0, _onDevice && _model.Device is not null ? _ticket.RateVersion : -1)
    {
        DeviceStartedAt = _onDevice && _model.Device is not null ? _ticket.Started : null,
    };

    private RequestCharge End(string? errorType)
    {
        if (_ended)
        {
            throw new InvalidOperationException("This request has already ended.");
        }

        _ended = true;
        Details = Details.Within(InputTokens, OutputTokens);
        var share = default(Allocation.DeviceShare);
        if (_onDevice)
        {
            share = _model.Group is { } group ? group.End(_ticket) : new(_model.Price!.CostUsd(InputTokens, OutputTokens, Details), 0, 0);
            _model.InFlight.Dec();
            _model.Cost.Inc(share.Usd);
            _model.Energy.Inc(share.Joules);
            _model.Co2e.Inc(share.Co2eGrams);
            if (_model.TenantCost.TryGetValue(Tenant, out var tenantCost))
            {
                tenantCost.Inc(share.Usd);
            }
        }

        _model.InputTokens.Inc(InputTokens);
        _model.OutputTokens.Inc(OutputTokens);
        _model.CachedInputTokens.Inc(Details.CachedInput);
        _model.CacheWriteTokens.Inc(Details.CacheWrite);
        _model.ReasoningTokens.Inc(Details.Reasoning);
        var latencySeconds = _time.GetElapsedTime(_started).TotalSeconds;
        _model.Metrics.GenAi.Record(_model.Model, errorType, latencySeconds, TimeToFirstTokenSeconds, InputTokens, OutputTokens);
        return new RequestCharge(share.Usd, latencySeconds, TimeToFirstTokenSeconds, _startedAt, _time.GetUtcNow(), _onDevice && _model.Device is not null ? _ticket.HourlyUsd : 0, _onDevice && _model.Device is not null ? _ticket.RateVersion : -1,
            _onDevice && _model.Device is not null ? _ticket.Started : null)
        {
            EnergyJoules = share.Joules,
            Co2eGrams = share.Co2eGrams,
        };
    }
}
