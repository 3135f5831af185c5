using System.Collections.Frozen;
using System.Globalization;
using ModelMeter.Metering;
using ModelMeter.Serving;
using static ModelMeter.AspNetCore.Generation.GenerationErrorKind;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// The one error table: for each <see cref="GenerationErrorKind"/>, the HTTP status, the bounded metric reason, the
/// problem title and OpenAI's error type and code. Routes, the pipeline and the OpenAI shape all read it; a new kind
/// is one new line here (a test checks that every kind has one).
/// </summary>
internal static class GenerationErrors
{
    /// <summary>What one kind answers.</summary>
    /// <param name="Status">The HTTP status (an upstream's own 4xx/5xx is passed on for <see cref="UpstreamRejected"/>).</param>
    /// <param name="Reason">The <c>reason</c> label of <c>model_request_errors_total</c> (an <see cref="ErrorReason"/>).</param>
    /// <param name="Title">The problem's title (with the field named for <see cref="InvalidField"/>).</param>
    /// <param name="OpenAiType">OpenAI's <c>error.type</c>.</param>
    /// <param name="OpenAiCode">OpenAI's <c>error.code</c> (with the upstream's status for <see cref="UpstreamRejected"/>).</param>
    internal sealed record Entry(int Status, string Reason, string Title, string OpenAiType, string? OpenAiCode);

    private const string InvalidRequest = "invalid_request_error";
    private const string ServerError = "server_error";
    private const string UpstreamError = "upstream_error";

    internal static readonly FrozenDictionary<GenerationErrorKind, Entry> Table = new Dictionary<GenerationErrorKind, Entry>
    {
        [Unauthorized] = new(401, ErrorReason.BadRequest, "Unauthorized", "authentication_error", "invalid_api_key"),
        [UnknownModel] = new(404, ErrorReason.BadRequest, "Unknown model", InvalidRequest, "model_not_found"),
        [InvalidField] = new(400, ErrorReason.BadRequest, "Invalid field", InvalidRequest, "invalid_value"),
        [TooLarge] = new(413, ErrorReason.TooLarge, "Request body too large", InvalidRequest, "request_too_large"),
        [BodyTimeout] = new(408, ErrorReason.BadRequest, "Request body too slow", InvalidRequest, "request_timeout"),
        [UnsupportedMediaType] = new(415, ErrorReason.BadRequest, "Unsupported media type", InvalidRequest, "unsupported_media_type"),
        [NotReady] = new(503, ErrorReason.Overloaded, "Model busy", ServerError, "model_loading"),
        [ModelFailed] = new(503, ErrorReason.Internal, "Model unavailable", ServerError, "model_load_failed"),
        [Overloaded] = new(503, ErrorReason.Overloaded, "Model busy", ServerError, "overloaded"),
        [BudgetExhausted] = new(429, ErrorReason.BudgetExhausted, "Budget exhausted", "insufficient_quota", "budget_exhausted"),
        [RateLimited] = new(429, ErrorReason.RateLimited, "Rate limit reached", "rate_limit_error", "rate_limit_exceeded"),
        [LedgerUnavailable] = new(503, ErrorReason.LedgerUnavailable, "Ledger unavailable", ServerError, "ledger_unavailable"),
        [ClientClosed] = new(499, ErrorReason.ClientClosed, "Generation failed", ServerError, null),
        [Internal] = new(500, ErrorReason.Internal, "Generation failed", ServerError, null),
        [UpstreamUnreachable] = new(502, ErrorReason.UpstreamUnreachable, "Upstream unreachable", UpstreamError, "upstream_unreachable"),
        [UpstreamTimeout] = new(504, ErrorReason.UpstreamTimeout, "Upstream timed out", UpstreamError, "upstream_timeout"),
        [UpstreamRejected] = new(502, ErrorReason.UpstreamRejected, "Upstream refused the request", UpstreamError, "upstream_"),
        [UpstreamAuth] = new(502, ErrorReason.UpstreamAuth, "Upstream refused the gateway's credentials", UpstreamError, "upstream_auth"),
        [UpstreamBroken] = new(502, ErrorReason.UpstreamBroken, "Upstream broke off", UpstreamError, "upstream_broken"),
    }.ToFrozenDictionary();

    /// <summary>The kind of a backend's failure.</summary>
    internal static GenerationErrorKind KindOf(GenerationFailure failure) => failure switch
    {
        GenerationFailure.UpstreamUnreachable => UpstreamUnreachable,
        GenerationFailure.UpstreamTimeout => UpstreamTimeout,
        GenerationFailure.UpstreamRejected => UpstreamRejected,
        GenerationFailure.UpstreamAuth => UpstreamAuth,
        _ => UpstreamBroken,
    };

    /// <summary>The bounded metric reason of a kind.</summary>
    public static string Reason(GenerationErrorKind kind) => Table[kind].Reason;

    /// <summary>The HTTP status of an error: an upstream's refusal keeps the upstream's status when it is an error status.</summary>
    public static int Status(GenerationError error) =>
        error is { Kind: UpstreamRejected, UpstreamStatus: >= 400 and < 600 and var upstream } ? upstream : Table[error.Kind].Status;

    /// <summary>The problem title of an error.</summary>
    public static string Title(GenerationError error) =>
        error.Kind == InvalidField ? $"Invalid field '{error.Field}'" : Table[error.Kind].Title;

    /// <summary>OpenAI's <c>error.type</c>: an upstream's 4xx is the client's mistake, passed on as such.</summary>
    public static string OpenAiType(GenerationError error) =>
        error is { Kind: UpstreamRejected, UpstreamStatus: >= 400 and < 500 } ? InvalidRequest : Table[error.Kind].OpenAiType;

    /// <summary>OpenAI's <c>error.code</c>, if the kind has one.</summary>
    public static string? OpenAiCode(GenerationError error) =>
        error.Kind == UpstreamRejected ? "upstream_" + (error.UpstreamStatus ?? 0).ToString(CultureInfo.InvariantCulture) : Table[error.Kind].OpenAiCode;
}
