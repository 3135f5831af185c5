namespace ModelMeter.AspNetCore.Configuration;

/// <summary>API keys. Keys are never stored, only their SHA-256 (hex).</summary>
public sealed class AuthOptions
{
    /// <summary>When true every model request needs <c>Authorization: Bearer &lt;key&gt;</c> of a tenant, and the cost API the admin key. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>SHA-256 (hex) of the key that may read <c>/api/costs/*</c> (and <c>/metrics</c>) when auth is on.</summary>
    public string? AdminKeySha256 { get; set; }

    /// <summary>SHA-256 (hex) of a key that may read only <c>/metrics</c> when auth is on (for Prometheus' <c>authorization</c> setting).</summary>
    public string? MetricsKeySha256 { get; set; }

    /// <summary>
    /// The server host refuses to listen beyond loopback with auth off, since anyone who reaches it could spend the
    /// budget and read the costs; true allows it (and logs a warning). Default false.
    /// </summary>
    public bool AllowAnonymousRemote { get; set; }
}

/// <summary>A tenant: who pays for the requests made with its key.</summary>
public sealed class TenantOptions
{
    /// <summary>SHA-256 (hex) of the tenant's API key (<c>echo -n KEY | sha256sum</c>).</summary>
    public string? ApiKeySha256 { get; set; }

    /// <summary>Requests the tenant may start per minute (429 beyond); default <c>Limits:TenantRequestsPerMinute</c>.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>Requests the tenant may have running at once (429 beyond); default <c>Limits:TenantMaxConcurrentRequests</c>.</summary>
    public int? MaxConcurrentRequests { get; set; }
}
