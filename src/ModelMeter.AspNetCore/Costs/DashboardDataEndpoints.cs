using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.Budgets;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Telemetry;

namespace ModelMeter.AspNetCore.Costs;

/// <summary>
/// What the dashboard's panels need beyond summary and time series: per-model figures over a window with the
/// self-hosting comparison (<c>/api/costs/stats</c>), budgets (<c>/api/costs/budgets</c>) and live devices
/// (<c>/api/costs/devices</c>). Behind the same admin check as the rest of <c>/api/costs</c>.
/// </summary>
internal static class DashboardDataEndpoints
{
    public static void MapDashboardData(this RouteGroupBuilder costs)
    {
        costs.MapGet("/stats", StatsAsync).WithMetadata(new QueryParameters("from", "to"));
        costs.MapGet("/budgets", BudgetsAsync).WithMetadata(new QueryParameters());
        costs.MapGet("/devices", Devices).WithMetadata(new QueryParameters());
        costs.MapGet("/activity", ActivityAsync).WithMetadata(new QueryParameters("from", "to", "step", "model"));
    }

    /// <summary>
    /// Requests over time: per step, each model's requests and failures (ledger rows), the served requests' latency p50 and
    /// p95, and errors by reason: requests that used their device and failed, and requests refused before (429, 503, 400),
    /// which have no row and come from this server's own count.
    /// </summary>
    internal static async Task<Results<JsonHttpResult<ActivityResponse>, ProblemHttpResult>> ActivityAsync(HttpContext http, LedgerStorage ledger, TimeProvider time, CostMeter meter)
    {
        var query = http.Request.Query;
        ProblemHttpResult? problem = null;
        if (!CostEndpoints.TryWindow(query, time, out var from, out var to, out problem)
            || !CostEndpoints.TryStep(query, from, to, out var step, ref problem)
            || !CostEndpoints.TryModel(query, meter, out var model, ref problem))
        {
            return problem!;
        }

        var activity = await ledger.Reports.ActivityAsync(from, to, step, model, http.RequestAborted);
        var errors = activity.Failures.Select(f => new ActivityError(f.Start, f.Model, f.Reason, f.Requests, Refused: false))
            .Concat(meter.Refusals.Between(from, to, step, model).Select(r => new ActivityError(r.Start, r.Model, r.Reason, r.Requests, Refused: true)))
            .OrderBy(e => e.Start).ThenBy(e => e.Model, StringComparer.Ordinal).ThenBy(e => e.Reason, StringComparer.Ordinal).ToArray();
        return TypedResults.Json(new ActivityResponse(
            from, to, step.TotalSeconds, model,
            [.. activity.Requests.Select(r => new ActivityRequests(r.Start, r.Model, r.Requests, r.Failed))],
            [.. activity.Latency.Select(l => new ActivityLatencyLine(l.Start, l.Served, l.P50Seconds, l.P95Seconds))],
            errors), RequestBody.Json);
    }

    /// <summary>Per model over a window: requests, failures, tokens, own and loaded cost, rates, latency percentiles, the reference comparison.</summary>
    internal static async Task<Results<JsonHttpResult<CostStatsResponse>, ProblemHttpResult>> StatsAsync(
        HttpContext http, LedgerStorage ledger, IdleMinutes idle, TimeProvider time, IOptions<ModelMeterOptions> options)
    {
        if (!CostEndpoints.TryWindow(http.Request.Query, time, out var from, out var to, out var problem))
        {
            return problem!;
        }

        await CostEndpoints.CatchUpIfRecentAsync(idle, to, time);
        var stats = await ledger.Reports.StatsAsync(from, to, http.RequestAborted);
        // Each model's loaded cost: its requests plus its share of its devices' idle time, by cost.
        var loaded = (await ledger.Reports.SummarizeAsync(from, to, CostGrouping.Model, IdleSharing.Proportional, cancellationToken: http.RequestAborted))
            .Rows.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var minutes = (to - from).TotalMinutes;
        var models = stats.Models.Select(m =>
        {
            var idleUsd = loaded.TryGetValue(m.Model, out var row) ? row.IdleUsd : 0;
            var totalUsd = m.CostUsd + idleUsd;
            var price = options.Value.Models.GetValueOrDefault(m.Model) is { } o ? o.ReferencePrice ?? o.Price : null;
            ReferenceComparison? reference = null;
            if (price is not null)
            {
                var referenceUsd = (m.InputTokens * price.InputPerMillion + m.OutputTokens * price.OutputPerMillion) / 1e6;
                reference = new ReferenceComparison(price.InputPerMillion, price.OutputPerMillion, referenceUsd, PerThousand(referenceUsd, m.OutputTokens), referenceUsd - totalUsd);
            }

            var (joules, grams) = row is null ? (0, 0) : (row.EnergyJoules, row.Co2eGrams);
            return new ModelStatsLine(
                m.Model, m.Requests, m.Failed, m.InputTokens, m.OutputTokens, m.CostUsd, idleUsd, totalUsd, PerThousand(totalUsd, m.OutputTokens), m.Requests / minutes,
                m.LatencyP50, m.LatencyP95, m.LatencyP99, m.TimeToFirstTokenP95, reference)
            {
                EnergyJ = joules,
                Co2eG = grams,
                WhPer1kOutputTokens = PerThousand(joules / 3600, m.OutputTokens),
                Co2eGPer1kTokens = PerThousand(grams, m.InputTokens + m.OutputTokens),
            };
        }).ToArray();
        var endpoints = stats.Endpoints.GroupBy(e => (e.Model, e.Endpoint))
            .Select(g => new EndpointRate(g.Key.Model, g.Key.Endpoint, g.Sum(e => e.Requests), g.Sum(e => e.Requests) / minutes)).ToArray();
        var errors = stats.Endpoints.Where(e => e.Status != "ok").GroupBy(e => (e.Model, e.Status))
            .Select(g => new ErrorRate(g.Key.Model, g.Key.Status, g.Sum(e => e.Requests), g.Sum(e => e.Requests) / minutes)).ToArray();
        return TypedResults.Json(new CostStatsResponse(from, to, (to - from).TotalSeconds, models, endpoints, errors), RequestBody.Json);
    }

    /// <summary>Each budget in its current period: limit, spent (from the budget store), thresholds.</summary>
    internal static async Task<JsonHttpResult<BudgetsResponse>> BudgetsAsync(HttpContext http, IBudgetStore store, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var budgets = new List<BudgetLine>();
        foreach (var b in store.Budgets)
        {
            var (start, end) = b.PeriodOf(now);
            budgets.Add(new BudgetLine(
                b.Name, ReportArguments.Name(b.Scope), b.Target, ReportArguments.Name(b.Period), start, end, b.LimitUsd,
                await store.SpentAsync(b, http.RequestAborted), b.Thresholds, b.Enforce));
        }

        return TypedResults.Json(new BudgetsResponse(budgets), RequestBody.Json);
    }

    /// <summary>The devices now: rate, bill and idle so far, requests in flight, and the GPU's reading where there is one.</summary>
    internal static JsonHttpResult<DevicesResponse> Devices(CostMeter meter, GpuMonitor gpus, IOptions<ModelMeterOptions> options, TimeProvider time)
    {
        var readings = gpus.Read().ToDictionary(g => g.Device, StringComparer.Ordinal);
        var now = time.GetUtcNow();
        var devices = meter.Devices.Select(d =>
        {
            var account = d.Snapshot();
            var kind = options.Value.Devices.GetValueOrDefault(d.Device)?.Kind;
            var gpu = readings.GetValueOrDefault(d.Device);
            return new DeviceLine(
                d.Device, kind is null ? null : ReportArguments.Name(kind.Value), d.Rates.HourlyUsdOf(d.Rates.VersionAt(now)), account.BillUsd, account.IdleUsd, account.InFlight,
                gpu is null ? null : new GpuLine(gpu.MemoryPercent, gpu.ComputePercent, gpu.PowerWatts))
            {
                EnergyJ = account.Bill.Joules,
                EnergySource = d.Energy is null ? null : d.Energy.Estimated ? "estimate" : "nvml",
            };
        }).ToArray();
        return TypedResults.Json(new DevicesResponse(now, readings.Count, devices) { Fleet = options.Value.Ledger.UsesClickHouse }, RequestBody.Json);
    }

    private static double? PerThousand(double amount, long tokens) => tokens > 0 ? amount / tokens * 1000 : null;
}
