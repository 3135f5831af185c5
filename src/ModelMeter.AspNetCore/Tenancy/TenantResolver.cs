using System.Collections.Frozen;
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
    private const int MaxNameLength = 64;

    private readonly FrozenDictionary<string, string> _tenantsByKeyHash;
    private readonly string? _adminKeyHash;

    public TenantResolver(IOptions<ModelMeterOptions> options)
    {
        var o = options.Value;
        AuthEnabled = o.Auth.Enabled;
        _adminKeyHash = o.Auth.AdminKeySha256?.ToLowerInvariant();
        _tenantsByKeyHash = o.Tenants.Where(t => t.Value.ApiKeySha256 is not null)
            .ToFrozenDictionary(t => t.Value.ApiKeySha256!.ToLowerInvariant(), t => t.Key, StringComparer.Ordinal);
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
            return BearerHash(authorization) is { } hash && _tenantsByKeyHash.TryGetValue(hash, out var tenant)
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
    public bool IsAdmin(string? authorization) =>
        !AuthEnabled || (_adminKeyHash is not null && BearerHash(authorization) == _adminKeyHash);

    /// <summary>Whether a tenant key or the admin key is given (for <c>GET /v1/models</c>): always true with auth off.</summary>
    public bool IsKnownKey(string? authorization) =>
        !AuthEnabled || (BearerHash(authorization) is { } hash && (_tenantsByKeyHash.ContainsKey(hash) || hash == _adminKeyHash));

    /// <summary>The end user for the ledger: the body's <c>user</c> field, else the <c>X-User</c> header; at most 128 characters.</summary>
    public static string? User(string? fromHeader, string? fromBody)
    {
        var user = string.IsNullOrWhiteSpace(fromBody) ? fromHeader ?? "" : fromBody;
        user = user.Trim();
        return user.Length == 0 ? null : user[..Math.Min(user.Length, 128)];
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string? BearerHash(string? header)
    {
        header ??= "";
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? Sha256Hex(header[scheme.Length..].Trim())
            : null;
    }

    private static bool IsName(string name) =>
        name.Length <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
