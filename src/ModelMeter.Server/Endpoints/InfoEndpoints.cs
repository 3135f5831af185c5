using Microsoft.Extensions.Options;
using ModelMeter.Server.Configuration;
using ModelMeter.Ledger;
using ModelMeter.Server.Ledger;
using ModelMeter.Server.Models;

namespace ModelMeter.Server.Endpoints;

/// <summary><c>GET /v1/models</c>, <c>/healthz</c> and <c>/readyz</c>.</summary>
internal static class InfoEndpoints
{
    public static void MapInfo(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (IOptions<ModelMeterOptions> options, ModelRegistry registry) => TypedResults.Json(new
        {
            @object = "list",
            data = options.Value.Models.Select(m => new
            {
                id = m.Key,
                @object = "model",
                owned_by = "modelmeter",
                device = m.Value.Device,
                ready = registry.TryGet(m.Key, out _),
            }),
        }));

        app.MapGet("/healthz", () => TypedResults.Text("ok"));

        app.MapGet("/readyz", (ModelRegistry registry, LedgerHost ledger) =>
            !registry.IsReady ? NotReady("Models are still loading (or one failed to load: see the log).")
            : ledger.Writer.Durability == LedgerDurability.Strict && !ledger.Writer.IsHealthy ? NotReady("The cost ledger cannot write, so requests are refused (Strict durability).")
            : Results.Text("ready"));
    }

    private static IResult NotReady(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: detail);
}
