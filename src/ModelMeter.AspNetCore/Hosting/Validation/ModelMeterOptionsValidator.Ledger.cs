using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Hosting.Validation;

internal sealed partial class ModelMeterOptionsValidator
{

    private static void ValidateClickHouse(ClickHouseOptions clickHouse, List<string> errors)
    {
        const string key = $"{Root}:Ledger:ClickHouse";
        if (!Uri.TryCreate(clickHouse.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:Url: '{clickHouse.Url}' is not an http(s) URL.");
        }

        if (!ModelMeter.Ledger.ClickHouse.ClickHouseLedger.IsIdentifier(clickHouse.Database))
        {
            errors.Add($"{key}:Database: '{clickHouse.Database}' is not a database name (letters, digits and underscores, not starting with a digit).");
        }

        if (clickHouse.PasswordEnv is { } variable && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            errors.Add($"{key}:PasswordEnv: the environment variable {variable} is not set.");
        }

        if (clickHouse.BatchSize is < 1 or > 1_000_000)
        {
            errors.Add($"{key}:BatchSize: {clickHouse.BatchSize} is out of range 1..1000000.");
        }

        if (clickHouse.ShipIntervalMs is < 10 or > 3_600_000)
        {
            errors.Add($"{key}:ShipIntervalMs: {clickHouse.ShipIntervalMs} is out of range 10..3600000.");
        }

        if (clickHouse.SettleIntervalMs is < 100 or > 3_600_000)
        {
            errors.Add($"{key}:SettleIntervalMs: {clickHouse.SettleIntervalMs} is out of range 100..3600000.");
        }

        if (clickHouse.NodeTimeoutSeconds is < 5 or > 86_400)
        {
            errors.Add($"{key}:NodeTimeoutSeconds: {clickHouse.NodeTimeoutSeconds} is out of range 5..86400.");
        }

        if (clickHouse.ResettleMinutes is < 0 or > 1_440)
        {
            errors.Add($"{key}:ResettleMinutes: {clickHouse.ResettleMinutes} is out of range 0..1440.");
        }

        if (clickHouse.TimeoutSeconds is < 0.1 or > 3600 || !double.IsFinite(clickHouse.TimeoutSeconds))
        {
            errors.Add($"{key}:TimeoutSeconds: {clickHouse.TimeoutSeconds} is out of range 0.1..3600.");
        }
    }

    private static void ValidateLedgerAndAuth(ModelMeterOptions options, List<string> errors)
    {
        var ledger = options.Ledger;
        if (ledger.UsesClickHouse)
        {
            ValidateClickHouse(ledger.ClickHouse, errors);
        }
        else if (!string.Equals(ledger.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{Root}:Ledger:Provider: '{ledger.Provider}' is not supported; use Sqlite or ClickHouse.");
        }

        if (string.IsNullOrWhiteSpace(ledger.Path))
        {
            errors.Add($"{Root}:Ledger:Path: give the ledger file.");
        }

        if (ledger.FlushIntervalMs is < 1 or > 600_000)
        {
            errors.Add($"{Root}:Ledger:FlushIntervalMs: {ledger.FlushIntervalMs} is out of range 1..600000.");
        }

        if (ledger.CommitTimeoutMs is < 1 or > 600_000)
        {
            errors.Add($"{Root}:Ledger:CommitTimeoutMs: {ledger.CommitTimeoutMs} is out of range 1..600000.");
        }

        if (ledger.QueueCapacity < 1)
        {
            errors.Add($"{Root}:Ledger:QueueCapacity: {ledger.QueueCapacity} must be at least 1.");
        }

        foreach (var (tenant, t) in options.Tenants)
        {
            if (!Tenancy.TenantResolver.IsName(tenant))
            {
                // The name the ledger, the metrics and the cost API's ?tenant= filter use: one the API could not ask for is no use.
                errors.Add($"{Root}:Tenants:{tenant}: a tenant's name is 1 to {Tenancy.TenantResolver.MaxNameLength} letters, digits, '.', '_' or '-'.");
            }

            if (t.ApiKeySha256 is { } hash && !IsSha256(hash))
            {
                errors.Add($"{Root}:Tenants:{tenant}:ApiKeySha256: not a SHA-256 in hex (64 hex digits).");
            }

            if (t.RequestsPerMinute is < 1)
            {
                errors.Add($"{Root}:Tenants:{tenant}:RequestsPerMinute: {t.RequestsPerMinute} must be at least 1.");
            }

            if (t.MaxConcurrentRequests is < 1)
            {
                errors.Add($"{Root}:Tenants:{tenant}:MaxConcurrentRequests: {t.MaxConcurrentRequests} must be at least 1.");
            }
        }

        if (options.Auth.AdminKeySha256 is { } admin && !IsSha256(admin))
        {
            errors.Add($"{Root}:Auth:AdminKeySha256: not a SHA-256 in hex (64 hex digits).");
        }

        if (options.Auth.MetricsKeySha256 is { } metrics && !IsSha256(metrics))
        {
            errors.Add($"{Root}:Auth:MetricsKeySha256: not a SHA-256 in hex (64 hex digits).");
        }

        // One key, one identity: a hash given twice would make a tenant an admin, or bill the wrong tenant.
        var keys = options.Tenants.Select(t => ($"Tenants:{t.Key}:ApiKeySha256", t.Value.ApiKeySha256))
            .Append(("Auth:AdminKeySha256", options.Auth.AdminKeySha256)).Append(("Auth:MetricsKeySha256", options.Auth.MetricsKeySha256))
            .Where(k => k.Item2 is not null);
        foreach (var duplicate in keys.GroupBy(k => k.Item2!.ToLowerInvariant()).Where(g => g.Count() > 1))
        {
            errors.Add($"{Root}:{duplicate.Last().Item1}: the same key hash is also given as {string.Join(", ", duplicate.SkipLast(1).Select(k => k.Item1))}; each key must be unique.");
        }

        if (options.Auth.Enabled && !options.Tenants.Values.Any(t => t.ApiKeySha256 is not null))
        {
            errors.Add($"{Root}:Auth:Enabled: auth is on but no tenant has an ApiKeySha256.");
        }
    }
}
