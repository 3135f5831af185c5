using Microsoft.Net.Http.Headers;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.Tenancy;
using Prometheus;

namespace ModelMeter.AspNetCore.Hosting;

/// <summary>
/// <c>GET /metrics</c>: Prometheus text format, or OpenMetrics for a scraper that prefers it (Prometheus asks for it first),
/// which also carries the histograms' trace exemplars. With auth on it carries every named tenant's cost, so it needs the
/// admin or metrics key.
/// </summary>
internal static class MetricsEndpoint
{
    private const string PrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static void MapMetricsEndpoint(this IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", async (HttpContext http, CollectorRegistry registry, TenantResolver tenants) =>
        {
            if (!tenants.MayReadMetrics(http.Request.Headers.Authorization.ToString()))
            {
                return Problems.Unauthorized(http, "With auth on, /metrics needs the metrics key or the admin key: Authorization: Bearer <key>.");
            }

            var openMetrics = PrefersOpenMetrics(http.Request);
            http.Response.ContentType = openMetrics ? OpenMetricsContentType : PrometheusContentType;
            await registry.CollectAndExportAsTextAsync(http.Response.Body, openMetrics ? ExpositionFormat.OpenMetricsText : ExpositionFormat.PrometheusText, http.RequestAborted);
            return Results.Empty;
        }).ExcludeFromDescription();

    /// <summary>
    /// Whether the <c>Accept</c> header ranks OpenMetrics (<c>application/openmetrics-text</c>, version 1.0.0 or none given)
    /// above zero and no lower than Prometheus text (<c>text/plain</c>); without the header, or with one that cannot be read, Prometheus text.
    /// </summary>
    internal static bool PrefersOpenMetrics(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double openMetrics = 0, text = 0;
        foreach (var type in accepted)
        {
            var quality = type.Quality ?? 1;
            if (type.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
                && (type.Parameters.FirstOrDefault(p => p.Name.Equals("version", StringComparison.OrdinalIgnoreCase))?.Value.Value is null or "1.0.0"))
            {
                openMetrics = Math.Max(openMetrics, quality);
            }
            else if (type.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase))
            {
                text = Math.Max(text, quality);
            }
        }

        return openMetrics > 0 && openMetrics >= text;
    }
}
