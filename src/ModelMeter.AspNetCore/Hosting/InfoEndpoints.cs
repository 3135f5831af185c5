using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.Ledger;

namespace ModelMeter.AspNetCore.Hosting;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (models loaded, ledger writable), to GET or HEAD.</summary>
internal static class InfoEndpoints
{
    public static void MapInfo(this IEndpointRouteBuilder app)
    {
        // HEAD too: some load balancers and uptime checks probe with it.
        string[] probes = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/healthz", probes, () => TypedResults.Text("ok"));

        app.MapMethods("/readyz", probes, (ModelCatalog catalog, ILedgerRecorder ledger) =>
            catalog.Failed is { Count: > 0 } failed ? NotReady($"Could not load {string.Join(", ", failed)} (see the log); fix it and restart.")
            : !catalog.IsReady ? NotReady("Models are still loading.")
            : ledger.Durability == LedgerDurability.Strict && !ledger.IsHealthy ? NotReady("The cost ledger cannot write, so requests are refused (Strict durability).")
            : Results.Text("ready"));
    }

    private static IResult NotReady(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: detail);
}
