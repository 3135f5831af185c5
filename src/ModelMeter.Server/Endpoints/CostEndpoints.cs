using System.Globalization;
using ModelMeter.Ledger;
using ModelMeter.Server.Ledger;
using ModelMeter.Server.Tenancy;

namespace ModelMeter.Server.Endpoints;

/// <summary><c>/api/costs/*</c>: reports from the ledger. Requests count at their end time, idle per minute.</summary>
internal static class CostEndpoints
{
    public static void MapCosts(this IEndpointRouteBuilder app)
    {
        var costs = app.MapGroup("/api/costs").AddEndpointFilter(async (context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<TenantResolver>().RequireAdmin(context.HttpContext) ?? await next(context));

        costs.MapGet("/summary", async (HttpContext http, LedgerHost ledger, TimeProvider time) =>
        {
            var query = http.Request.Query;
            if (!TryWindow(query, time, out var from, out var to, out var problem)
                || !TryEnum(query["by"], CostGrouping.Model, "by", out CostGrouping by, ref problem)
                || !TryEnum(query["idle"], IdleSharing.Separate, "idle", out IdleSharing idle, ref problem))
            {
                return problem!;
            }

            await CatchUpIfRecentAsync(ledger, to, time);

            var summary = ledger.Store.Summarize(from, to, by, idle);
            return Results.Json(new
            {
                from, to,
                by = Name(by), idle = Name(idle),
                total_usd = summary.TotalUsd,
                rows = summary.Rows.Select(r => new
                {
                    key = r.Key, requests = r.Requests, input_tokens = r.InputTokens, output_tokens = r.OutputTokens,
                    cost_usd = r.CostUsd, idle_usd = r.IdleUsd, total_usd = r.TotalUsd,
                }),
            });
        });

        costs.MapGet("/timeseries", async (HttpContext http, LedgerHost ledger, TimeProvider time) =>
        {
            var query = http.Request.Query;
            if (!TryWindow(query, time, out var from, out var to, out var problem)
                || !TryEnum(query["by"], CostGrouping.Model, "by", out CostGrouping by, ref problem))
            {
                return problem!;
            }

            var stepText = query["step"].ToString();
            var step = stepText.Length == 0 ? TimeSpan.FromHours(1) : ParseDuration(stepText);
            if (step is null || step < TimeSpan.FromMinutes(1) || (to - from) / step.Value > 10_000)
            {
                return Problems.BadField("step", "step must be a duration of at least 1m (30m, 1h, 1d) giving at most 10000 points.");
            }

            await CatchUpIfRecentAsync(ledger, to, time);
            var points = ledger.Store.Timeseries(from, to, by, step.Value);
            return Results.Json(new
            {
                from, to, by = Name(by), step_seconds = step.Value.TotalSeconds,
                points = points.Select(p => new { key = p.Key, start = p.Start, cost_usd = p.CostUsd }),
            });
        });

        costs.MapGet("/forecast", async (LedgerHost ledger, TimeProvider time) =>
        {
            await ledger.CatchUpIdleAsync();
            var forecast = CostForecast.Compute(ledger.Store, time.GetUtcNow());
            return Results.Json(new
            {
                month_start = forecast.MonthStart,
                now = forecast.Now,
                month_to_date_usd = forecast.MonthToDateUsd,
                trailing_7d_daily_usd = forecast.TrailingDailyUsd,
                projected_month_usd = forecast.ProjectedMonthUsd,
            });
        });
    }

    /// <summary>A window reaching into the current minute needs the idle time not yet written.</summary>
    private static Task CatchUpIfRecentAsync(LedgerHost ledger, DateTimeOffset to, TimeProvider time) =>
        to > time.GetUtcNow().AddMinutes(-1) ? ledger.CatchUpIdleAsync() : Task.CompletedTask;

    /// <summary>Durations like 90s, 15m, 24h, 7d.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        if (text.Length < 2 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount <= 0 || !double.IsFinite(amount))
        {
            return null;
        }

        return text[^1] switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            'h' => TimeSpan.FromHours(amount),
            'd' => TimeSpan.FromDays(amount),
            _ => null,
        };
    }

    /// <summary>[from, to): to defaults to now, from to a day before to.</summary>
    private static bool TryWindow(IQueryCollection query, TimeProvider time, out DateTimeOffset from, out DateTimeOffset to, out IResult? problem)
    {
        problem = null;
        from = default;
        to = time.GetUtcNow();
        var toText = query["to"].ToString();
        var fromText = query["from"].ToString();
        if (toText.Length > 0 && !TryTime(toText, out to))
        {
            problem = Problems.BadField("to", $"to '{toText}' is not an ISO 8601 time (2026-11-26T00:00:00Z).");
        }
        else if (fromText.Length == 0)
        {
            from = to.AddDays(-1);
        }
        else if (!TryTime(fromText, out from))
        {
            problem = Problems.BadField("from", $"from '{fromText}' is not an ISO 8601 time (2026-11-26T00:00:00Z).");
        }
        else if (from >= to)
        {
            problem = Problems.BadField("from", "from must be before to.");
        }

        return problem is null;
    }

    private static bool TryTime(string text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    private static bool TryEnum<T>(string? text, T fallback, string field, out T value, ref IResult? problem)
        where T : struct, Enum
    {
        value = fallback;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value) && !int.TryParse(text, out _))
        {
            return true;
        }

        problem = Problems.BadField(field, $"{field} must be one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");
        return false;
    }

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
