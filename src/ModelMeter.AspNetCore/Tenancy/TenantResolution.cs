namespace ModelMeter.AspNetCore.Tenancy;

/// <summary>Who pays, or why that could not be told.</summary>
/// <param name="Tenant">The tenant, or null when refused.</param>
/// <param name="Problem">Why refused: a missing or unknown key, or a malformed <c>X-Tenant</c>.</param>
/// <param name="Unauthorized">True for a key problem (401), false for a malformed header (400).</param>
internal sealed record TenantResolution(string? Tenant, string? Problem, bool Unauthorized);
