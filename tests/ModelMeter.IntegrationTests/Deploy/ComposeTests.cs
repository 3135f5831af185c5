namespace ModelMeter.IntegrationTests.Deploy;

/// <summary>
/// Every compose file is accepted by Debian's <c>docker-compose config</c> and is a stack whose parts find each other:
/// Prometheus scrapes every ModelMeter service on the port the image listens on and nothing else, Grafana reads that
/// Prometheus with the datasource the dashboard names, a service beyond loopback has auth on or says it accepts that,
/// and a fleet's replicas name the ClickHouse and Redis services.
/// </summary>
public sealed class ComposeTests
{
    public static TheoryData<string> Files() => [.. ComposeFiles.All()];

    [Fact]
    public void ThereAreTheSingleServerAndTheFleetStacks() =>
        Assert.Equal(["docker-compose.fleet.yml", "docker-compose.yml"], ComposeFiles.All());

    [Theory]
    [MemberData(nameof(Files))]
    public async Task PrometheusScrapesEveryModelMeterService_OnTheImagePort(string file)
    {
        var config = ComposeFiles.Config(file);
        var port = Dockerfile.Read(Repository.PathOf("Dockerfile")).Environment()["ASPNETCORE_HTTP_PORTS"];
        var modelMeters = ComposeFiles.Services(config).Where(s => ComposeFiles.IsModelMeter((Dictionary<object, object?>)s.Value!)).Select(s => s.Key.ToString()!).ToList();
        Assert.NotEmpty(modelMeters);

        var prometheus = ComposeFiles.Service(config, "prometheus");
        var configFile = ComposeFiles.Volumes(prometheus).Single(v => v.Target == "/etc/prometheus/prometheus.yml").Source;
        var (code, output) = await Tools.RunAsync("promtool", Path.GetDirectoryName(configFile)!, "check", "config", configFile);
        Assert.True(code == 0, output);
        Assert.Contains(ComposeFiles.Volumes(prometheus), v => v.Source == Repository.PathOf("deploy", "prometheus", "rules") && v.Target == "/etc/prometheus/rules");

        var scrape = (Dictionary<object, object?>)((List<object?>)((Dictionary<object, object?>)Monitoring.BundleQueries.Yaml(configFile)!)["scrape_configs"]!).Single()!;
        var targets = ((List<object?>)scrape["static_configs"]!).SelectMany(c => (List<object?>)((Dictionary<object, object?>)c!)["targets"]!).Select(t => t!.ToString()!);
        Assert.Equal(modelMeters.Select(s => $"{s}:{port}").Order(StringComparer.Ordinal), targets.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void GrafanaReadsThatPrometheus_ThroughTheDatasourceTheDashboardNames(string file)
    {
        var config = ComposeFiles.Config(file);
        var grafana = ComposeFiles.Service(config, "grafana");
        var volumes = ComposeFiles.Volumes(grafana).ToList();
        var datasource = (Dictionary<object, object?>)((List<object?>)((Dictionary<object, object?>)Monitoring.BundleQueries.Yaml(
            volumes.Single(v => v.Target.StartsWith("/etc/grafana/provisioning/datasources/", StringComparison.Ordinal)).Source)!)["datasources"]!).Single()!;
        var shared = (Dictionary<object, object?>)((List<object?>)((Dictionary<object, object?>)Monitoring.BundleQueries.Yaml(
            Repository.PathOf("deploy", "grafana", "provisioning", "datasources", "modelmeter-prometheus.yml"))!)["datasources"]!).Single()!;

        Assert.Equal(shared["uid"], datasource["uid"]);
        Assert.Equal("http://prometheus:9090", datasource["url"]);
        Assert.Contains(volumes, v => v.Source == Repository.PathOf("deploy", "grafana", "dashboards"));
        Assert.Contains(volumes, v => v.Source == Repository.PathOf("deploy", "grafana", "provisioning", "alerting"));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryModelMeterService_HasAuthOnOrAcceptsAnonymousOnPurpose_AndPublishesOnLoopbackOnly(string file)
    {
        var config = ComposeFiles.Config(file);
        foreach (var (name, value) in ComposeFiles.Services(config))
        {
            var service = (Dictionary<object, object?>)value!;
            var ports = service.TryGetValue("ports", out var p) ? ((List<object?>)p!).Select(x => x!.ToString()!) : [];
            Assert.All(ports, port => Assert.StartsWith("127.0.0.1:", port)); // nothing reaches the stack from beyond the host

            if (ComposeFiles.IsModelMeter(service))
            {
                var environment = ComposeFiles.Environment(service);
                Assert.True(
                    environment.GetValueOrDefault("ModelMeter__Auth__Enabled") == "true" || environment.GetValueOrDefault("ModelMeter__Auth__AllowAnonymousRemote") == "true",
                    $"{name} listens on every interface of the stack's network: auth on, or AllowAnonymousRemote said on purpose");
                Assert.Contains(ComposeFiles.Volumes(service), v => v.Target == "/data");
            }
        }

        // The comment that says why sits beside the setting.
        Assert.Contains("on purpose", File.ReadAllText(Path.Combine(ComposeFiles.Directory, file)));
    }

    [Fact]
    public void Fleet_ReplicasShipToTheClickHouseService_ShareBudgetsInTheRedisService_UnderTheirOwnNames()
    {
        var config = ComposeFiles.Config("docker-compose.fleet.yml");
        var replicas = ComposeFiles.Services(config).Where(s => ComposeFiles.IsModelMeter((Dictionary<object, object?>)s.Value!))
            .Select(s => ComposeFiles.Environment((Dictionary<object, object?>)s.Value!)).ToList();

        Assert.Equal(2, replicas.Count);
        Assert.All(replicas, e =>
        {
            Assert.Equal("ClickHouse", e["ModelMeter__Ledger__Provider"]);
            Assert.Equal("http://clickhouse:8123", e["ModelMeter__Ledger__ClickHouse__Url"]);
            Assert.Equal("Redis", e["ModelMeter__BudgetStore__Provider"]);
            Assert.Equal("redis:6379", e["ModelMeter__BudgetStore__Redis__Configuration"]);
        });
        Assert.Equal(2, replicas.Select(e => e["ModelMeter__Node"]).Distinct().Count());
        Assert.True(ComposeFiles.Services(config).ContainsKey("clickhouse") && ComposeFiles.Services(config).ContainsKey("redis"));
    }
}
