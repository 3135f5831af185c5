namespace ModelMeter.AspNetCore.Configuration;

/// <summary>Limits on requests.</summary>
public sealed class LimitsOptions
{
    /// <summary>The largest <c>max_tokens</c> a request may ask for. Default 512.</summary>
    public int MaxTokens { get; set; } = 512;

    /// <summary><c>max_tokens</c> when a request gives none. Default 50.</summary>
    public int DefaultMaxTokens { get; set; } = 50;

    /// <summary>
    /// The longest prompt in characters (all messages together), checked before tokenizing. Default: 16 × the model's
    /// context window where the backend knows it, else 1,000,000.
    /// </summary>
    public int? MaxPromptChars { get; set; }

    /// <summary>The most chat messages in one request. Default 256.</summary>
    public int MaxMessages { get; set; } = 256;

    /// <summary>Requests per minute for a tenant without its own <c>RequestsPerMinute</c> (every <c>X-Tenant</c> and <c>anonymous</c> too); null, the default, is no limit.</summary>
    public int? TenantRequestsPerMinute { get; set; }

    /// <summary>Concurrent requests for a tenant without its own <c>MaxConcurrentRequests</c>; null, the default, is no limit.</summary>
    public int? TenantMaxConcurrentRequests { get; set; }

    /// <summary>The largest request body, bytes; larger bodies get 413. Default 1 MiB.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;
}
