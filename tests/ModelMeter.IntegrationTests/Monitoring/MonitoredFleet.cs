using System.Globalization;
using System.Net.Http.Json;
using System.Text;

namespace ModelMeter.IntegrationTests.Monitoring;

/// <summary>
/// Two ModelMeter servers with the three demo models, scraped every second by a real Prometheus that
/// loads the bundle's rule file, after traffic to every model on both servers.
/// </summary>
public sealed class MonitoredFleet : IAsyncLifetime
{
    public static readonly string[] Models = ["demo-small", "demo-medium", "demo-large"];

    internal RunningServer[] Servers { get; private set; } = [];

    internal PrometheusServer Prometheus { get; private set; } = null!;

    /// <summary>The trace of the one traced request (W3C trace context, sampled).</summary>
    public string TraceId { get; } = System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();

    /// <summary>Each model's cost summed over the servers' own /metrics after the traffic.</summary>
    public Dictionary<string, double> ServerCostUsd { get; } = [];

    /// <summary>Each model's carbon summed over the servers' own /metrics after the traffic.</summary>
    public Dictionary<string, double> ServerCo2eGrams { get; } = [];

    public async Task InitializeAsync()
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        foreach (var model in Models)
        {
            settings[$"ModelMeter:Models:{model}:ReferencePrice:InputPerMillion"] = "0.15";
            settings[$"ModelMeter:Models:{model}:ReferencePrice:OutputPerMillion"] = "0.60";
        }

        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "1000";
        Servers = [await RunningServer.StartAsync(settings), await RunningServer.StartAsync(settings)];
        var targets = Servers.Select(s => s.Client.BaseAddress!.Authority).ToArray();
        Prometheus = await PrometheusServer.StartAsync(Config(targets), Backfill(targets, DateTimeOffset.UtcNow));
        await WaitForAsync("count(up{job=\"modelmeter\"} == 1) == 2");

        await Task.WhenAll(Servers.SelectMany(server => Models.SelectMany(model => Enumerable.Range(0, 2).Select(async i =>
        {
            using var response = await server.GenerateAsync(model, new { prompt = $"Who spent the money? {i}", max_tokens = 6 + 4 * i });
            response.EnsureSuccessStatusCode();
        }))));
        foreach (var server in Servers)
        {
            using var bad = await server.GenerateAsync("demo-small", new { prompt = "", max_tokens = 5 });
        }

        // One request inside a sampled trace, as a traced client sends it: its latency carries the trace as an exemplar.
        using (var traced = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "Traced.", max_tokens = 4 }) })
        {
            traced.Headers.Add("traceparent", $"00-{TraceId}-b7ad6b7169203331-01");
            using var response = await Servers[0].Client.SendAsync(traced);
            response.EnsureSuccessStatusCode();
        }

        foreach (var server in Servers)
        {
            var samples = await server.ScrapeAsync();
            foreach (var model in Models)
            {
                ServerCostUsd[model] = ServerCostUsd.GetValueOrDefault(model) + samples[$"model_estimated_cost_dollars_total{{model_name=\"{model}\"}}"];
                ServerCo2eGrams[model] = ServerCo2eGrams.GetValueOrDefault(model) + samples[$"model_co2e_grams_total{{model_name=\"{model}\"}}"];
            }
        }

        // Every counter scraped after the traffic, and the recording rules evaluated on it.
        var expected = ServerCostUsd.Values.Sum().ToString("R", CultureInfo.InvariantCulture);
        await WaitForAsync($"sum(model_estimated_cost_dollars_total) >= {expected} * 0.999999");
        await WaitForAsync($"sum(model_co2e_grams_total) >= {ServerCo2eGrams.Values.Sum().ToString("R", CultureInfo.InvariantCulture)} * 0.999999");
        await WaitForAsync("count(model_name:model_cost_per_1k_output_tokens_dollars:rate5m) == 3");
        await WaitForAsync("sum(model_request_errors_total{reason=\"bad_request\"}) >= 2");
    }

    public async Task DisposeAsync()
    {
        if (Prometheus is not null)
        {
            await Prometheus.DisposeAsync();
        }

        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
    }

    private async Task WaitForAsync(string condition)
    {
        for (var i = 0; i < 300; i++)
        {
            if ((await Prometheus.QueryAsync(condition)).GetArrayLength() > 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Prometheus never satisfied: {condition}");
    }

    private static string Config(string[] targets) => $$"""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - {{BundleQueries.RulesPath}}
        scrape_configs:
          - job_name: modelmeter
            static_configs:
              - targets: [{{string.Join(", ", targets.Select(t => $"\"{t}\""))}}]
        """;

    /// <summary>
    /// History written into the TSDB before Prometheus starts, for the targets' own series:
    /// yesterday's spending (so the queries comparing with yesterday have data) and ten minutes of
    /// zero cost before the servers took traffic. The second makes the sampled window long, so that
    /// increase()'s extrapolation over the last scrape gap (under 1 s) stays far below the 1 % bound.
    /// </summary>
    private static string Backfill(string[] targets, DateTimeOffset now)
    {
        var text = new StringBuilder();
        foreach (var (family, perMinute) in new[] { ("model_estimated_cost_dollars", 0.001), ("model_co2e_grams", 0.01) })
        {
            text.Append("# TYPE ").Append(family).Append(" counter\n");
            foreach (var target in targets)
            {
                foreach (var model in Models)
                {
                    var series = $"{family}_total{{instance=\"{target}\",job=\"modelmeter\",model_name=\"{model}\"}}";
                    for (var minutes = 70; minutes >= 1; minutes--)
                    {
                        Sample(text, series, perMinute * (70 - minutes), now.AddDays(-1).AddMinutes(-minutes));
                    }

                    for (var seconds = 600; seconds >= 20; seconds -= 5)
                    {
                        Sample(text, series, 0, now.AddSeconds(-seconds));
                    }
                }
            }
        }

        return text.Append("# EOF\n").ToString();
    }

    private static void Sample(StringBuilder text, string series, double value, DateTimeOffset at) =>
        text.Append(series).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(' ')
            .Append((at.ToUnixTimeMilliseconds() / 1000.0).ToString("F3", CultureInfo.InvariantCulture)).Append('\n');
}
