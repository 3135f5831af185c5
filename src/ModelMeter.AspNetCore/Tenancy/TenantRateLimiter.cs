using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Tenancy;

/// <summary>
/// Per-tenant limits from configuration, with .NET's rate limiters (the ones ASP.NET Core's rate-limiting middleware
/// uses): a token bucket per tenant for requests per minute, and a concurrency limit per tenant. Tenants without limits pass.
/// </summary>
internal sealed class TenantRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _perMinute;
    private readonly PartitionedRateLimiter<string> _concurrent;

    public TenantRateLimiter(IOptions<ModelMeterOptions> options)
    {
        var o = options.Value;
        _perMinute = PartitionedRateLimiter.Create<string, string>(tenant =>
            (o.Tenants.GetValueOrDefault(tenant)?.RequestsPerMinute ?? o.Limits.TenantRequestsPerMinute) is { } perMinute
                ? RateLimitPartition.GetTokenBucketLimiter(tenant, _ => new TokenBucketRateLimiterOptions
                {
                    // A minute's worth at once, then one more every 60/n seconds: n per minute on average, never a burst over n.
                    TokenLimit = perMinute,
                    TokensPerPeriod = 1,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
                    QueueLimit = 0,
                })
                : RateLimitPartition.GetNoLimiter(tenant));
        _concurrent = PartitionedRateLimiter.Create<string, string>(tenant =>
            (o.Tenants.GetValueOrDefault(tenant)?.MaxConcurrentRequests ?? o.Limits.TenantMaxConcurrentRequests) is { } concurrent
                ? RateLimitPartition.GetConcurrencyLimiter(tenant, _ => new ConcurrencyLimiterOptions { PermitLimit = concurrent, QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter(tenant));
    }

    /// <summary>A lease to hold while the request runs, or when to retry.</summary>
    public (IDisposable? Lease, TimeSpan RetryAfter, string? Limit) TryAcquire(string tenant)
    {
        using var minute = _perMinute.AttemptAcquire(tenant);
        if (!minute.IsAcquired)
        {
            var retry = minute.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
            return (null, retry, "requests per minute");
        }

        var running = _concurrent.AttemptAcquire(tenant);
        if (!running.IsAcquired)
        {
            running.Dispose();
            return (null, TimeSpan.FromSeconds(1), "concurrent requests");
        }

        return (running, TimeSpan.Zero, null);
    }

    public void Dispose()
    {
        _perMinute.Dispose();
        _concurrent.Dispose();
    }
}
