using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Tenancy;

/// <summary>
/// Who pays for a request: with auth on, the tenant whose API key (by SHA-256) is in the bearer token;
/// with auth off, the <c>X-Tenant</c> header or <c>anonymous</c>.
/// </summary>
internal sealed class TenantResolver
{
    public const string Anonymous = "anonymous";
    internal const int MaxNameLength = 64;

    private readonly (byte[] Hash, string Tenant)[] _tenantKeys;
    private readonly byte[]? _adminKey;
    private readonly byte[]? _metricsKey;

    public TenantResolver(IOptions<ModelMeterOptions> options)
    {
        var o = options.Value;
        AuthEnabled = o.Auth.Enabled;
        _adminKey = FromHex(o.Auth.AdminKeySha256);
        _metricsKey = FromHex(o.Auth.MetricsKeySha256);
        _tenantKeys = o.Tenants.Where(t => FromHex(t.Value.ApiKeySha256) is not null).Select(t => (FromHex(t.Value.ApiKeySha256)!, t.Key)).ToArray();
        NamedTenants = o.Tenants.Keys.ToArray();
    }

    public bool AuthEnabled { get; }

    /// <summary>Tenants named in configuration: the only ones that may be metric labels.</summary>
    public IReadOnlyCollection<string> NamedTenants { get; }

    /// <summary>The paying tenant from the <c>Authorization</c> and <c>X-Tenant</c> headers, or why not.</summary>
    public TenantResolution Resolve(string? authorization, string? tenantHeader)
    {
        if (AuthEnabled)
        {
            return TenantOf(BearerHash(authorization)) is { } tenant
                ? new TenantResolution(tenant, null, false)
                : new TenantResolution(null, "A valid API key is required: Authorization: Bearer <key>.", true);
        }

        if (string.IsNullOrEmpty(tenantHeader))
        {
            return new TenantResolution(Anonymous, null, false);
        }

        return IsName(tenantHeader)
            ? new TenantResolution(tenantHeader, null, false)
            : new TenantResolution(null, $"X-Tenant must be 1 to {MaxNameLength} letters, digits, '.', '_' or '-'.", false);
    }

    /// <summary>Whether the caller may read the cost API: always with auth off, with the admin key with auth on.</summary>
    public bool IsAdmin(string? authorization) => !AuthEnabled || Matches(BearerHash(authorization), _adminKey);

    /// <summary>Whether the caller may read <c>/metrics</c> (every named tenant's cost): always with auth off, with the admin or metrics key with auth on.</summary>
    public bool MayReadMetrics(string? authorization)
    {
        if (!AuthEnabled)
        {
            return true;
        }

        var hash = BearerHash(authorization);
        return Matches(hash, _adminKey) | Matches(hash, _metricsKey);
    }

    /// <summary>Whether a tenant key or the admin key is given (for <c>GET /v1/models</c>): always true with auth off.</summary>
    public bool IsKnownKey(string? authorization)
    {
        var hash = BearerHash(authorization);
        return !AuthEnabled || TenantOf(hash) is not null || Matches(hash, _adminKey);
    }

    /// <summary>The longest end-user name kept.</summary>
    public const int MaxUserLength = 128;

    /// <summary>
    /// The end user for the ledger: the body's <c>user</c> field, else the <c>X-User</c> header. Printable text of at most
    /// 128 characters, not starting with '(' (report rows such as <c>(idle)</c> and <c>(other)</c> start so); otherwise a problem naming the field.
    /// </summary>
    public static (string? User, string? Field, string? Problem) User(string? fromHeader, string? fromBody)
    {
        var (field, user) = string.IsNullOrWhiteSpace(fromBody) ? ("X-User", fromHeader ?? "") : ("user", fromBody);
        user = user.Trim();
        return user switch
        {
            { Length: 0 } => (null, null, null),
            { Length: > MaxUserLength } => (null, field, $"{field} is {user.Length} characters long; at most {MaxUserLength}."),
            _ when user.Any(char.IsControl) => (null, field, $"{field} must be printable text (no control characters)."),
            _ when user.StartsWith('(') => (null, field, $"{field} must not start with '(': report rows such as (idle) do."),
            _ => (user, null, null),
        };
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static byte[]? BearerHash(string? header)
    {
        header ??= "";
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()))
            : null;
    }

    /// <summary>The tenant whose key hash this is; every configured hash is compared in constant time, so timing tells nothing.</summary>
    private string? TenantOf(byte[]? hash)
    {
        string? found = null;
        foreach (var (key, tenant) in _tenantKeys)
        {
            if (Matches(hash, key))
            {
                found = tenant;
            }
        }

        return found;
    }

    private static bool Matches(byte[]? hash, byte[]? expected) =>
        hash is not null && expected is not null && CryptographicOperations.FixedTimeEquals(hash, expected);

    private static byte[]? FromHex(string? hex) =>
        hex is { Length: 64 } && hex.All(char.IsAsciiHexDigit) ? Convert.FromHexString(hex) : null;

    internal static bool IsName(string name) =>
        name.Length <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
