using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
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
        costs.MapGet("/stats", async (HttpContext http, LedgerStorage ledger, IdleMinutes idle, TimeProvider time, IOptions<ModelMeterOptions> options) =>
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
            return Results.Json(new
            {
                from, to, window_seconds = (to - from).TotalSeconds,
                models = stats.Models.Select(m =>
                {
                    var idleUsd = loaded.TryGetValue(m.Model, out var row) ? row.IdleUsd : 0;
                    var totalUsd = m.CostUsd + idleUsd;
                    var reference = options.Value.Models.GetValueOrDefault(m.Model) is { } o ? o.ReferencePrice ?? o.Price : null;
                    var referenceUsd = reference is null ? (double?)null : (m.InputTokens * reference.InputPerMillion + m.OutputTokens * reference.OutputPerMillion) / 1e6;
                    return new
                    {
                        model = m.Model, requests = m.Requests, failed = m.Failed, input_tokens = m.InputTokens, output_tokens = m.OutputTokens,
                        cost_usd = m.CostUsd, idle_usd = idleUsd, total_usd = totalUsd,
                        cost_per_1k_output_usd = PerThousand(totalUsd, m.OutputTokens),
                        requests_per_minute = m.Requests / minutes,
                        latency_p50_seconds = m.LatencyP50, latency_p95_seconds = m.LatencyP95, latency_p99_seconds = m.LatencyP99,
                        ttft_p95_seconds = m.TimeToFirstTokenP95,
                        reference = reference is null ? null : new
                        {
                            input_per_million = reference.InputPerMillion,
                            output_per_million = reference.OutputPerMillion,
                            cost_usd = referenceUsd,
                            cost_per_1k_output_usd = PerThousand(referenceUsd!.Value, m.OutputTokens),
                            saved_usd = referenceUsd - totalUsd,
                        },
                    };
                }),
                endpoints = stats.Endpoints.GroupBy(e => (e.Model, e.Endpoint)).Select(g => new
                {
                    model = g.Key.Model, endpoint = g.Key.Endpoint, requests = g.Sum(e => e.Requests), requests_per_minute = g.Sum(e => e.Requests) / minutes,
                }),
                errors = stats.Endpoints.Where(e => e.Status != "ok").GroupBy(e => (e.Model, e.Status)).Select(g => new
                {
                    model = g.Key.Model, reason = g.Key.Status, requests = g.Sum(e => e.Requests), requests_per_minute = g.Sum(e => e.Requests) / minutes,
                }),
            });
        });

        costs.MapGet("/budgets", async (HttpContext http, IBudgetStore store, TimeProvider time) =>
        {
            var now = time.GetUtcNow();
            var budgets = new List<object>();
            foreach (var b in store.Budgets)
            {
                var period = b.PeriodOf(now);
                budgets.Add(new
                {
                    name = b.Name, scope = ReportArguments.Name(b.Scope), target = b.Target, period = ReportArguments.Name(b.Period),
                    period_start = period.Start, period_end = period.End, limit_usd = b.LimitUsd,
                    spent_usd = await store.SpentAsync(b, http.RequestAborted), thresholds = b.Thresholds, enforce = b.Enforce,
                });
            }

            return Results.Json(new { budgets });
        });

        costs.MapGet("/devices", (CostMeter meter, GpuMonitor gpus, IOptions<ModelMeterOptions> options, TimeProvider time) =>
        {
            var readings = gpus.Read().ToDictionary(g => g.Device, StringComparer.Ordinal);
            var now = time.GetUtcNow();
            return Results.Json(new
            {
                now,
                gpus_available = readings.Count,
                devices = meter.Devices.Select(d =>
                {
                    var account = d.Snapshot();
                    var kind = options.Value.Devices.GetValueOrDefault(d.Device)?.Kind;
                    var gpu = readings.GetValueOrDefault(d.Device);
                    return new
                    {
                        device = d.Device, kind = kind is null ? null : ReportArguments.Name(kind.Value),
                        hourly_usd = d.Rates.HourlyUsdOf(d.Rates.VersionAt(now)),
                        bill_usd = account.BillUsd, idle_usd = account.IdleUsd, in_flight = account.InFlight,
                        gpu = gpu is null ? null : new { memory_percent = gpu.MemoryPercent, compute_percent = gpu.ComputePercent, power_watts = gpu.PowerWatts },
                    };
                }),
            });
        });
    }

    private static double? PerThousand(double usd, long outputTokens) => outputTokens > 0 ? usd / outputTokens * 1000 : null;
}
