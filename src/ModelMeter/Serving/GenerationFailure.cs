namespace ModelMeter.Serving;

/// <summary>Why a backend could not generate (bounded: these are metric label values too).</summary>
public enum GenerationFailure
{
    /// <summary>The upstream could not be reached (refused, reset, DNS) before it answered: 502.</summary>
    UpstreamUnreachable,

    /// <summary>The upstream did not answer in time: 504.</summary>
    UpstreamTimeout,

    /// <summary>The upstream answered with an error status: passed on with its status and message.</summary>
    UpstreamRejected,

    /// <summary>The upstream refused the gateway's own credentials (401/403): 502, never passed on as the tenant's fault.</summary>
    UpstreamAuth,

    /// <summary>The upstream broke off an answer that had started (closed mid-stream, malformed data): 502.</summary>
    UpstreamBroken,
}
