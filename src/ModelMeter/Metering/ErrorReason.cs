namespace ModelMeter.Metering;

/// <summary>The bounded set of reasons in <c>model_request_errors_total</c>.</summary>
public static class ErrorReason
{
    /// <summary>Malformed body or a field out of range (400).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>Body over the size limit (413).</summary>
    public const string TooLarge = "too_large";

    /// <summary>The model's queue was full or the model not loaded yet (503).</summary>
    public const string Overloaded = "overloaded";

    /// <summary>The client went away before the answer was complete; the device time used is still charged.</summary>
    public const string ClientClosed = "client_closed";

    /// <summary>The backend failed (500).</summary>
    public const string Internal = "internal";

    /// <summary>The ledger could not record the request in <c>Strict</c> durability (503).</summary>
    public const string LedgerUnavailable = "ledger_unavailable";

    /// <summary>A budget with <c>Action=Enforce</c> is spent (429).</summary>
    public const string BudgetExhausted = "budget_exhausted";

    /// <summary>The tenant's requests per minute or concurrent requests are used up (429).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>A gateway's upstream could not be reached (502).</summary>
    public const string UpstreamUnreachable = "upstream_unreachable";

    /// <summary>A gateway's upstream did not answer in time (504).</summary>
    public const string UpstreamTimeout = "upstream_timeout";

    /// <summary>A gateway's upstream answered with an error status (passed on).</summary>
    public const string UpstreamRejected = "upstream_rejected";

    /// <summary>A gateway's upstream broke off an answer that had started.</summary>
    public const string UpstreamBroken = "upstream_broken";

    /// <summary>A gateway's upstream refused the gateway's own credentials (502).</summary>
    public const string UpstreamAuth = "upstream_auth";

    /// <summary>Every reason, so each model's error series can start at zero.</summary>
    public static readonly IReadOnlyList<string> All = [BadRequest, TooLarge, Overloaded, ClientClosed, Internal, LedgerUnavailable, BudgetExhausted, RateLimited, UpstreamUnreachable, UpstreamTimeout, UpstreamRejected, UpstreamAuth, UpstreamBroken];
}
