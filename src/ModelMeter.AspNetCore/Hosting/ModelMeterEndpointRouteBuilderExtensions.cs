using ModelMeter.AspNetCore.Costs;
using ModelMeter.AspNetCore.Dashboard;
using ModelMeter.AspNetCore.Generate;
using ModelMeter.AspNetCore.Hosting;
using ModelMeter.AspNetCore.OpenAi;
using ModelMeter.Metering;
using ModelMeter.Telemetry;
using Prometheus;

namespace Microsoft.AspNetCore.Builder;

/// <summary><c>endpoints.MapModelMeter()</c>: ModelMeter's routes, and nothing else.</summary>
public static class ModelMeterEndpointRouteBuilderExtensions
{
    /// <summary>The endpoint label values of the built-in routes.</summary>
    internal static readonly string[] Endpoints = [GenerateEndpoints.Endpoint, OpenAiEndpoints.Completions, OpenAiEndpoints.ChatCompletions, OpenAiEndpoints.Embeddings, OpenAiEndpoints.Responses];

    /// <summary>
    /// Maps ModelMeter's routes under one group at <paramref name="prefix"/>: <c>/v1/generate/{model}</c>, the OpenAI-compatible
    /// <c>/v1/completions</c>, <c>/v1/chat/completions</c>, <c>/v1/embeddings</c>, <c>/v1/responses</c> and <c>/v1/models</c>, <c>/healthz</c>, <c>/readyz</c>, <c>/api/costs/*</c>,
    /// <c>/metrics</c> (Prometheus) and the dashboard at <c>/</c>. Adds no middleware. Returns the group, to add
    /// authorization, rate limits or filters to all of them.
    /// </summary>
    public static RouteGroupBuilder MapModelMeter(this IEndpointRouteBuilder endpoints, string prefix = "")
    {
        var group = endpoints.MapGroup(prefix);
        group.MapGenerate();
        group.MapOpenAi();
        group.MapInfo();
        group.MapCosts();
        group.MapDashboard();
        group.MapMetricsEndpoint();

        // Device bills run from the start, busy or not; GPU gauges exist only where NVML answers.
        endpoints.ServiceProvider.GetRequiredService<CostMeter>();
        endpoints.ServiceProvider.GetRequiredService<GpuMonitor>();
        return group;
    }
}
