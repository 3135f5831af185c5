using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Ledger.ClickHouse;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.AspNetCore.Http;
using ModelMeter.AspNetCore.Tenancy;

namespace ModelMeter.AspNetCore.Costs;

/// <summary><c>/api/costs/*</c>: reports from the ledger. Requests count at their end time, idle per minute.</summary>
internal static class CostEndpoints
{
    public static void MapCosts(this IEndpointRouteBuilder app)
    {
        var costs = app.MapGroup("/api/costs").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!http.RequestServices.GetRequiredService<TenantResolver>().IsAdmin(http.Request.Headers.Authorization.ToString()))
            {
                return Problems.Unauthorized(http, "The cost API needs the admin key: Authorization: Bearer <admin key>.");
            }

            if (http.GetEndpoint()?.Metadata.GetMetadata<QueryParameters>() is { } parameters && parameters.Check(http.Request.Query, http.Request.Path) is { } unknown)
            {
                return unknown;
            }

            try
            {
                return await next(context);
            }
            catch (Exception e) when (e is ClickHouseException or HttpRequestException || (e is OperationCanceledException && !http.RequestAborted.IsCancellationRequested))
            {
                return Problems.Unavailable(http, $"The fleet ledger (ClickHouse) cannot be read now: {e.Message}", TimeSpan.FromSeconds(5));
            }
        });

        costs.MapGet("/summary", SummaryAsync).WithMetadata(new QueryParameters("from", "to", "by", "idle", "limit", "model", "tenant"));
        costs.MapGet("/timeseries", TimeseriesAsync).WithMetadata(new QueryParameters("from", "to", "by", "step", "limit", "model", "tenant"));
        costs.MapDashboardData();
        costs.MapGet("/forecast", ForecastAsync).WithMetadata(new QueryParameters());
    }

    /// <summary>Cost grouped by model, endpoint, tenant, user, device, day or node over a window; idle separate, shared or left out.</summary>
    internal static async Task<Results<JsonHttpResult<CostSummaryResponse>, ProblemHttpResult>> SummaryAsync(
        HttpContext http, LedgerStorage ledger, IdleMinutes idleMinutes, TimeProvider time, CostMeter meter)
    {
        var query = http.Request.Query;
        if (!TryWindow(query, time, out var from, out var to, out var problem)
            || !TryEnum(query["by"], CostGrouping.Model, "by", out CostGrouping by, ref problem)
            || !TryEnum(query["idle"], IdleSharing.Separate, "idle", out IdleSharing idle, ref problem)
            || !TryLimit(query, out var limit, ref problem)
            || !TryModel(query, meter, out var model, ref problem)
            || !TryTenant(query, out var tenant, ref problem))
        {
            return problem!;
        }

        await CatchUpIfRecentAsync(idleMinutes, to, time);
        var summary = (await ledger.Reports.SummarizeAsync(from, to, by, idle, new CostFilter(model, tenant), http.RequestAborted)).Limit(limit);
        var rows = summary.Rows.Select(r => new CostSummaryLine(r.Key, r.Requests, r.InputTokens, r.OutputTokens, r.CostUsd, r.IdleUsd, r.TotalUsd,
            r.Details.CachedInput, r.Details.CacheWrite, r.Details.Reasoning, r.EnergyJoules, r.Co2eGrams)).ToArray();
        return TypedResults.Json(new CostSummaryResponse(from, to, Name(by), Name(idle), model, tenant, summary.TotalUsd, rows, summary.EstimatedUsd), RequestBody.Json);
    }

    /// <summary>The <c>step</c> parameter: a duration of at least a minute giving at most 10000 points (default an hour).</summary>
    internal static bool TryStep(IQueryCollection query, DateTimeOffset from, DateTimeOffset to, out TimeSpan step, ref ProblemHttpResult? problem)
    {
        var text = query["step"].ToString();
        var parsed = text.Length == 0 ? TimeSpan.FromHours(1) : ReportArguments.ParseDuration(text);
        step = parsed ?? TimeSpan.FromHours(1);
        if (parsed is null || step < TimeSpan.FromMinutes(1) || (to - from) / step > 10_000)
        {
            problem = Problems.BadField("step", "step must be a duration of at least 1m (30m, 1h, 1d) giving at most 10000 points.");
            return false;
        }

        return true;
    }

    /// <summary>Cost per step (at least a minute, at most 10000 points) and group over a window.</summary>
    internal static async Task<Results<JsonHttpResult<CostTimeseriesResponse>, ProblemHttpResult>> TimeseriesAsync(
        HttpContext http, LedgerStorage ledger, IdleMinutes idleMinutes, TimeProvider time, CostMeter meter)
    {
        var query = http.Request.Query;
        if (!TryWindow(query, time, out var from, out var to, out var problem)
            || !TryEnum(query["by"], CostGrouping.Model, "by", out CostGrouping by, ref problem)
            || !TryLimit(query, out var limit, ref problem)
            || !TryModel(query, meter, out var model, ref problem)
            || !TryTenant(query, out var tenant, ref problem))
        {
            return problem!;
        }

        if (!TryStep(query, from, to, out var step, ref problem))
        {
            return problem!;
        }

        await CatchUpIfRecentAsync(idleMinutes, to, time);
        var points = (await ledger.Reports.TimeseriesAsync(from, to, by, step, new CostFilter(model, tenant), http.RequestAborted)).Limit(limit);
        return TypedResults.Json(
            new CostTimeseriesResponse(model, tenant, from, to, Name(by), step.TotalSeconds, [.. points.Select(p => new CostTimeseriesPoint(p.Key, p.Start, p.CostUsd, p.EnergyJoules, p.Co2eGrams))]),
            RequestBody.Json);
    }

    /// <summary>This month so far and where it is heading at the trailing seven days' pace (or the ledger's days, if fewer).</summary>
    internal static async Task<JsonHttpResult<CostForecastResponse>> ForecastAsync(HttpContext http, LedgerStorage ledger, IdleMinutes idleMinutes, TimeProvider time)
    {
        await idleMinutes.CatchUpAsync();
        var forecast = await CostForecast.ComputeAsync(ledger.Reports, time.GetUtcNow(), http.RequestAborted);
        return TypedResults.Json(
            new CostForecastResponse(forecast.MonthStart, forecast.Now, forecast.MonthToDateUsd, forecast.TrailingDailyUsd, forecast.ProjectedMonthUsd, forecast.TrailingDays), RequestBody.Json);
    }

    /// <summary><c>model</c>: one configured model's requests only (no idle time); absent for all.</summary>
    internal static bool TryModel(IQueryCollection query, CostMeter meter, out string? model, ref ProblemHttpResult? problem)
    {
        model = query["model"].ToString();
        if (model.Length == 0)
        {
            model = null;
            return true;
        }

        if (meter.IsKnown(model))
        {
            return true;
        }

        problem = Problems.BadField("model", $"No model named '{model}' is configured.");
        return false;
    }

    /// <summary><c>tenant</c>: one tenant's requests only (no idle time), e.g. <c>demo</c> for demo traffic; absent for all.</summary>
    internal static bool TryTenant(IQueryCollection query, out string? tenant, ref ProblemHttpResult? problem)
    {
        tenant = query["tenant"].ToString();
        if (tenant.Length == 0)
        {
            tenant = null;
            return true;
        }

        if (TenantResolver.IsName(tenant))
        {
            return true;
        }

        problem = Problems.BadField("tenant", $"tenant must be 1 to {TenantResolver.MaxNameLength} letters, digits, '.', '_' or '-'.");
        return false;
    }

    /// <summary>A window reaching into the current minute needs the idle time not yet written.</summary>
    internal static Task CatchUpIfRecentAsync(IdleMinutes idle, DateTimeOffset to, TimeProvider time) =>
        to > time.GetUtcNow().AddMinutes(-1) ? idle.CatchUpAsync() : Task.CompletedTask;

    /// <summary><c>limit</c>: the most groups a report shows (the rest summed as <c>(other)</c>), 1 to 10000, default 100.</summary>
    private static bool TryLimit(IQueryCollection query, out int limit, ref ProblemHttpResult? problem)
    {
        limit = 100;
        var text = query["limit"].ToString();
        if (text.Length == 0 || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 10_000))
        {
            return true;
        }

        problem = Problems.BadField("limit", "limit must be a whole number from 1 to 10000.");
        return false;
    }

    /// <summary>[from, to): to defaults to now, from to a day before to; both between 1970 and 9000.</summary>
    internal static bool TryWindow(IQueryCollection query, TimeProvider time, out DateTimeOffset from, out DateTimeOffset to, out ProblemHttpResult? problem)
    {
        problem = null;
        from = default;
        to = time.GetUtcNow();
        var toText = query["to"].ToString();
        var fromText = query["from"].ToString();
        if (toText.Length > 0 && !ReportArguments.TryParseTime(toText, out to))
        {
            problem = Problems.BadField("to", $"to '{toText}' is not an ISO 8601 time (2026-11-26T00:00:00Z).");
        }
        else if (to <= ReportArguments.Earliest || to > ReportArguments.Latest)
        {
            problem = Problems.BadField("to", "to must be between 1970-01-01 and 9000-01-01.");
        }
        else if (fromText.Length == 0)
        {
            from = to.AddDays(-1);
        }
        else if (!ReportArguments.TryParseTime(fromText, out from))
        {
            problem = Problems.BadField("from", $"from '{fromText}' is not an ISO 8601 time (2026-11-26T00:00:00Z).");
        }
        else if (from >= to)
        {
            problem = Problems.BadField("from", "from must be before to.");
        }

        if (problem is null && (from < ReportArguments.Earliest || to > ReportArguments.Latest))
        {
            var field = from < ReportArguments.Earliest ? "from" : "to";
            problem = Problems.BadField(field, $"{field} must be between 1970-01-01 and 9000-01-01.");
        }

        return problem is null;
    }

    private static bool TryEnum<T>(string? text, T fallback, string field, out T value, ref ProblemHttpResult? problem)
        where T : struct, Enum
    {
        value = fallback;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (ReportArguments.TryParseEnum(text, out value))
        {
            return true;
        }

        problem = Problems.BadField(field, $"{field} must be one of {ReportArguments.Names<T>()}.");
        return false;
    }

    private static string Name<T>(T value)
        where T : struct, Enum => ReportArguments.Name(value);
}
