using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.Tenancy;
using Prometheus;

namespace ModelMeter.AspNetCore.Hosting;

/// <summary><c>GET /metrics</c>: Prometheus text format. With auth on it carries every named tenant's cost, so it needs the admin or metrics key.</summary>
internal static class MetricsEndpoint
{
    private const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void MapMetricsEndpoint(this IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", async (HttpContext http, CollectorRegistry registry, TenantResolver tenants) =>
        {
            if (!tenants.MayReadMetrics(http.Request.Headers.Authorization.ToString()))
            {
                return Problems.Unauthorized(http, "With auth on, /metrics needs the metrics key or the admin key: Authorization: Bearer <key>.");
            }

            http.Response.ContentType = ContentType;
            await registry.CollectAndExportAsTextAsync(http.Response.Body, http.RequestAborted);
            return Results.Empty;
        }).ExcludeFromDescription();
}
