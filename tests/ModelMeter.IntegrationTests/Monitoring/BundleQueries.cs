using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace ModelMeter.IntegrationTests.Monitoring;

/// <summary>Every PromQL expression the monitoring bundle ships, with where it comes from.</summary>
internal static partial class BundleQueries
{
    public static readonly string DashboardPath = Repository.PathOf("deploy", "grafana", "dashboards", "modelmeter-cost.json");
    public static readonly string GrafanaAlertsPath = Repository.PathOf("deploy", "grafana", "provisioning", "alerting", "modelmeter-alerts.yml");
    public static readonly string RulesPath = Repository.PathOf("deploy", "prometheus", "rules", "model-cost.rules.yml");

    public sealed record Query(string Source, string Expr, bool IsAlertCondition);

    public static JsonElement Dashboard() => JsonDocument.Parse(File.ReadAllText(DashboardPath)).RootElement;

    public static object? Yaml(string path) => new DeserializerBuilder().Build().Deserialize<object>(File.ReadAllText(path));

    public static IEnumerable<Query> All()
    {
        foreach (var panel in Dashboard().GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                yield return new Query($"panel '{panel.GetProperty("title").GetString()}' {target.GetProperty("refId").GetString()}", target.GetProperty("expr").GetString()!, false);
            }
        }

        foreach (var rule in Items(Yaml(GrafanaAlertsPath), "groups").SelectMany(g => Items(g, "rules")))
        {
            foreach (var data in Items(rule, "data").Where(d => Value(d, "datasourceUid") != "__expr__"))
            {
                yield return new Query($"Grafana alert '{Value(rule, "title")}' {Value(data, "refId")}", Value(Child(data, "model"), "expr")!, false);
            }
        }

        foreach (var rule in Items(Yaml(RulesPath), "groups").SelectMany(g => Items(g, "rules")))
        {
            var record = Value(rule, "record");
            yield return new Query(record is null ? $"alerting rule {Value(rule, "alert")}" : $"recording rule {record}", Value(rule, "expr")!, record is null);
            if (record is not null)
            {
                yield return new Query($"recorded series {record}", record, false);
            }
        }
    }

    /// <summary>Replaces Grafana's variables the way Grafana would with "All" selected.</summary>
    public static string Substitute(string expr, string range, string rateInterval) => expr
        .Replace("$__rate_interval", rateInterval)
        .Replace("$__range", range)
        .Replace("$__interval", "15s")
        .Replace("$model", ".*")
        .Replace("$instance", ".*");

    /// <summary>Variables used in an expression or property: <c>$name</c> and <c>${name}</c>, Grafana's own <c>$__...</c> excluded.</summary>
    public static IEnumerable<string> VariablesIn(string text) =>
        Variable().Matches(text).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).Where(v => !v.StartsWith("__", StringComparison.Ordinal));

    [GeneratedRegex(@"\$\{(\w+)(?::\w+)?\}|\$(\w+)")]
    private static partial Regex Variable();

    private static IEnumerable<object?> Items(object? node, string key) =>
        Child(node, key) is List<object?> list ? list : [];

    private static object? Child(object? node, string key) =>
        node is Dictionary<object, object?> map && map.TryGetValue(key, out var value) ? value : null;

    private static string? Value(object? node, string key) => Child(node, key)?.ToString();
}
