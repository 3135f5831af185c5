using System.Text.Json;

namespace ModelMeter.IntegrationTests.Monitoring;

/// <summary>The bundle's files checked without a running Prometheus: promtool, and the dashboard's structure.</summary>
public sealed class BundleFileTests
{
    [Fact]
    public async Task Promtool_CheckConfig_Passes()
    {
        var (exitCode, output) = await Tools.RunAsync("promtool", Repository.PathOf("deploy", "prometheus"), "check", "config", "prometheus.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("1 rule files found", output);
    }

    [Fact]
    public async Task Promtool_CheckRules_FindsRecordingAndAlertingRules()
    {
        var (exitCode, output) = await Tools.RunAsync("promtool", Repository.PathOf("deploy", "prometheus", "rules"), "check", "rules", "model-cost.rules.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("7 rules found", output); // three recording rules, four alerts
    }

    [Fact]
    public async Task Promtool_TestRules_EveryAlertFiresAndStaysQuietAsSpecified()
    {
        var (exitCode, output) = await Tools.RunAsync("promtool", Repository.PathOf("deploy", "prometheus", "rules"), "test", "rules", "model-cost.rules.test.yml");

        Assert.True(exitCode == 0, output);
        var tests = File.ReadAllText(Repository.PathOf("deploy", "prometheus", "rules", "model-cost.rules.test.yml"));
        foreach (var alert in new[] { "ModelMeterDailyCostHigh", "ModelMeterCostSpike", "ModelMeterCostAboveReferencePrice", "ModelMeterLedgerShipLagging" })
        {
            Assert.Contains($"alertname: {alert}\n        exp_alerts: []", tests);
            Assert.Contains($"alertname: {alert}\n        exp_alerts:\n          - exp_labels:", tests);
        }
    }

    [Fact]
    public void Dashboard_Structure_IsSound()
    {
        var dashboard = BundleQueries.Dashboard();
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToArray();
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()!).ToHashSet();

        Assert.Equal(panels.Length, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        Assert.Equal(["datasource", "instance", "model"], variables.Order());
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            var grid = panel.GetProperty("gridPos");
            Assert.True(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32() <= 24, $"{title} is wider than 24 columns");
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
            Assert.Contains(panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("unit").GetString(), new[] { "currencyUSD", "s", "percent", "reqps", "watt", "watth", "massg" });
            foreach (var variable in BundleQueries.VariablesIn(panel.GetRawText()))
            {
                Assert.True(variables.Contains(variable), $"{title} uses ${variable}, which the dashboard does not define");
            }
        }

        // The classic panels and the ones added to answer "who ate the budget".
        var titles = panels.Select(p => p.GetProperty("title").GetString()).ToArray();
        foreach (var expected in new[] { "Cumulative cost", "Cost rate", "Cost today", "Cost per 1K output tokens", "Request rate", "GPU memory", "Cost share", "latency p50 / p95 / p99", "first token p95", "Idle cost", "Idle share", "Device bill", "Error rate", "Budgets", "Power by model", "Energy per 1K output tokens", "Idle share of the energy", "Carbon by model", "Device power" })
        {
            Assert.Contains(titles, t => t!.Contains(expected, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void EveryQuery_AggregatesOverInstances()
    {
        foreach (var query in BundleQueries.All().Where(q => !q.Source.StartsWith("recorded series", StringComparison.Ordinal)))
        {
            Assert.True(query.Expr.Contains("sum", StringComparison.Ordinal) || query.Expr.Contains("max by", StringComparison.Ordinal) || query.Expr.Contains(':', StringComparison.Ordinal),
                $"{query.Source} does not aggregate over instances: {query.Expr}");
        }
    }

    [Fact]
    public void GrafanaAlerts_ReferenceTheProvisionedDatasourceAndTheirOwnConditions()
    {
        var datasource = (BundleQueries.Yaml(Repository.PathOf("deploy", "grafana", "provisioning", "datasources", "modelmeter-prometheus.yml")) as Dictionary<object, object?>)!;
        var uid = ((datasource["datasources"] as List<object?>)![0] as Dictionary<object, object?>)!["uid"]!.ToString();
        var alerts = (BundleQueries.Yaml(BundleQueries.GrafanaAlertsPath) as Dictionary<object, object?>)!;
        var rules = (alerts["groups"] as List<object?>)!.Cast<Dictionary<object, object?>>().SelectMany(g => (g["rules"] as List<object?>)!.Cast<Dictionary<object, object?>>()).ToArray();

        Assert.Equal(2, rules.Length);
        foreach (var rule in rules)
        {
            var data = (rule["data"] as List<object?>)!.Cast<Dictionary<object, object?>>().ToArray();
            Assert.All(data, d => Assert.Contains(d["datasourceUid"]!.ToString(), new[] { uid, "__expr__" }));
            Assert.Contains(data, d => d["refId"]!.ToString() == rule["condition"]!.ToString());
        }
    }
}
