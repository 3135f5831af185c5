using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ModelMeter.Server.Configuration;

namespace ModelMeter.Server.Tenancy;

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

    /// <summary>The paying tenant, or a problem (401 for a missing or unknown key, 400 for a malformed X-Tenant).</summary>
    public (string? Tenant, IResult? Problem) Resolve(HttpContext http)
    {
        if (AuthEnabled)
        {
            return BearerHash(http) is { } hash && _tenantsByKeyHash.TryGetValue(hash, out var tenant)
                ? (tenant, null)
                : (null, Unauthorized(http, "A valid API key is required: Authorization: Bearer <key>."));
        }

        var header = http.Request.Headers["X-Tenant"].ToString();
        if (header.Length == 0)
        {
            return (Anonymous, null);
        }

        return IsName(header)
            ? (header, null)
            : (null, Endpoints.Problems.BadField("X-Tenant", $"X-Tenant must be 1 to {MaxNameLength} letters, digits, '.', '_' or '-'."));
    }

    /// <summary>Whether the request may read the cost API: always with auth off, with the admin key with auth on.</summary>
    public IResult? RequireAdmin(HttpContext http) =>
        !AuthEnabled || (_adminKeyHash is not null && BearerHash(http) == _adminKeyHash)
            ? null
            : Unauthorized(http, "The cost API needs the admin key: Authorization: Bearer <admin key>.");

    /// <summary>The end user for the ledger: the body's <c>user</c> field, else the <c>X-User</c> header; at most 128 characters.</summary>
    public static string? User(HttpContext http, string? fromBody)
    {
        var user = string.IsNullOrWhiteSpace(fromBody) ? http.Request.Headers["X-User"].ToString() : fromBody;
        user = user.Trim();
        return user.Length == 0 ? null : user[..Math.Min(user.Length, 128)];
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static string? BearerHash(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && header.Length > scheme.Length
            ? Sha256Hex(header[scheme.Length..].Trim())
            : null;
    }

    private static bool IsName(string name) =>
        name.Length <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static IResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);
    }
}
