namespace ModelMeter.AspNetCore.Generation;

/// <summary>Why a generation was refused or failed, in words for the client; routes map it to their error shape.</summary>
/// <param name="Kind">What went wrong; decides the status code.</param>
/// <param name="Message">What to tell the client.</param>
/// <param name="Field">The request field at fault, if one is.</param>
public sealed record GenerationError(GenerationErrorKind Kind, string Message, string? Field = null)
{
    /// <summary>The upstream's status for <see cref="GenerationErrorKind.UpstreamRejected"/>.</summary>
    public int? UpstreamStatus { get; init; }

    /// <summary>When to try again (503, 429).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The spent budget, for <see cref="GenerationErrorKind.BudgetExhausted"/>.</summary>
    public string? Budget { get; init; }

    /// <summary>The HTTP status this error is answered with.</summary>
    public int StatusCode => GenerationErrors.Status(this);
}

/// <summary>The kinds of <see cref="GenerationError"/>.</summary>
public enum GenerationErrorKind
{
    /// <summary>No valid API key (401).</summary>
    Unauthorized,

    /// <summary>The model is not configured (404).</summary>
    UnknownModel,

    /// <summary>A field is missing, malformed or out of range (400).</summary>
    InvalidField,

    /// <summary>The body is over the limit (413).</summary>
    TooLarge,

    /// <summary>The body arrived too slowly (408): Kestrel's <c>MinRequestBodyDataRate</c> gave up on it.</summary>
    BodyTimeout,

    /// <summary>The body is not <c>application/json</c> (415): also keeps cross-site form posts out.</summary>
    UnsupportedMediaType,

    /// <summary>The model is still loading (503).</summary>
    NotReady,

    /// <summary>The model could not be loaded at start (503, without a time to retry: it stays so until a restart).</summary>
    ModelFailed,

    /// <summary>The model's queue is full (503).</summary>
    Overloaded,

    /// <summary>A budget with <c>Action=Enforce</c> is spent (429).</summary>
    BudgetExhausted,

    /// <summary>The tenant's rate limit is used up (429).</summary>
    RateLimited,

    /// <summary>The ledger cannot record requests in <c>Strict</c> durability (503).</summary>
    LedgerUnavailable,

    /// <summary>The client went away.</summary>
    ClientClosed,

    /// <summary>The backend failed unexpectedly (500).</summary>
    Internal,

    /// <summary>The upstream could not be reached (502).</summary>
    UpstreamUnreachable,

    /// <summary>The upstream did not answer in time (504).</summary>
    UpstreamTimeout,

    /// <summary>The upstream answered with an error; its status is passed on.</summary>
    UpstreamRejected,

    /// <summary>The upstream refused the gateway's credentials (502).</summary>
    UpstreamAuth,

    /// <summary>The upstream broke off its answer (502, or an error event in a stream).</summary>
    UpstreamBroken,
}
