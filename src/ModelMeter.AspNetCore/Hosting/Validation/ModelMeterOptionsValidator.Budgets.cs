using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Hosting.Validation;

internal sealed partial class ModelMeterOptionsValidator
{
    private static void ValidateBudgets(ModelMeterOptions options, List<string> errors)
    {
        var store = options.BudgetStore;
        if (string.Equals(store.Provider, "Redis", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(store.Redis.Configuration))
            {
                errors.Add($"{Root}:BudgetStore:Redis:Configuration: give the Redis to use (127.0.0.1:6379).");
            }

            if (store.Redis.TimeoutMs is < 10 or > 60_000)
            {
                errors.Add($"{Root}:BudgetStore:Redis:TimeoutMs: {store.Redis.TimeoutMs} is out of range 10..60000.");
            }
        }
        else if (!string.Equals(store.Provider, "Local", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{Root}:BudgetStore:Provider: '{store.Provider}' is not supported; use Local or Redis.");
        }

        if (store.ReconcileSeconds is < 0 or > 86_400)
        {
            errors.Add($"{Root}:BudgetStore:ReconcileSeconds: {store.ReconcileSeconds} is out of range 0..86400.");
        }

        for (var i = 0; i < options.Budgets.Count; i++)
        {
            var b = options.Budgets[i];
            var key = $"{Root}:Budgets:{i}";
            if (string.IsNullOrWhiteSpace(b.Name))
            {
                errors.Add($"{key}:Name: every budget needs a name.");
            }
            else if (options.Budgets.Count(x => x.Name == b.Name) > 1)
            {
                errors.Add($"{key}:Name: '{b.Name}' is used by more than one budget.");
            }

            if (!(b.LimitUsd > 0) || !double.IsFinite(b.LimitUsd))
            {
                errors.Add($"{key}:LimitUsd: {b.LimitUsd} must be above zero.");
            }

            if (b.Scope != BudgetScope.Global && string.IsNullOrWhiteSpace(b.Target))
            {
                errors.Add($"{key}:Target: a {b.Scope} budget needs the {b.Scope.ToString().ToLowerInvariant()} it covers.");
            }
            else if (b.Scope == BudgetScope.Model && !options.Models.ContainsKey(b.Target!))
            {
                errors.Add($"{key}:Target: unknown model '{b.Target}'.");
            }
            else if (b.Scope == BudgetScope.Tenant && !Tenancy.TenantResolver.IsName(b.Target!))
            {
                errors.Add($"{key}:Target: '{b.Target}' is not a tenant's name (letters, digits, '.', '_' or '-'), so the budget would cover nobody.");
            }
            else if (b.Scope == BudgetScope.Tenant && options.Auth.Enabled && !options.Tenants.ContainsKey(b.Target!))
            {
                errors.Add($"{key}:Target: unknown tenant '{b.Target}'; with auth on the tenants are those of ModelMeter:Tenants ({string.Join(", ", options.Tenants.Keys)}).");
            }

            if (b.Thresholds is { } thresholds && thresholds.Any(t => !(t > 0) || t > 10))
            {
                errors.Add($"{key}:Thresholds: each threshold is a fraction of the limit above 0 (0.8 = 80%).");
            }

            if (b.Scope == BudgetScope.Tenant && b.Action == BudgetAction.Enforce && !options.Auth.Enabled)
            {
                errors.Add($"{key}:Scope: an enforcing Tenant budget needs auth on; with auth off anyone can send another X-Tenant and escape it.");
            }

            if (!TimeZoneInfo.TryFindSystemTimeZoneById(b.TimeZone, out _))
            {
                errors.Add($"{key}:TimeZone: unknown time zone '{b.TimeZone}'.");
            }

            if (b.WebhookUrl is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                errors.Add($"{key}:WebhookUrl: '{url}' is not an http(s) URL.");
            }
        }
    }
}
