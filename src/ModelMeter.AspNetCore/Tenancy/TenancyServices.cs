using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ModelMeter.AspNetCore.Tenancy;

/// <summary>Who pays: tenants from keys or headers, and their rate limits.</summary>
internal static class TenancyServices
{
    /// <summary>Adds the tenant resolver and the per-tenant rate limiter.</summary>
    public static IServiceCollection AddModelMeterTenancy(this IServiceCollection services)
    {
        services.TryAddSingleton<TenantResolver>();
        services.TryAddSingleton<TenantRateLimiter>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, AuthWarnings>());
        return services;
    }
}
