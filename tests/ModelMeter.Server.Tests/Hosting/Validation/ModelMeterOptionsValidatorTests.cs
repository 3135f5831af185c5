using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Hosting.Validation;

namespace ModelMeter.Server.Tests.Hosting.Validation;

public sealed class ModelMeterOptionsValidatorTests
{
    [Fact]
    public async Task Start_SeveralBadKeys_FailsListingEveryKey()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Devices:gpu0:HourlyUsd"] = "-2.5";
        settings["ModelMeter:Models:llama:Path"] = "/nonexistent/llama";
        settings["ModelMeter:Models:llama:Device"] = "tpu9";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Devices:gpu0:HourlyUsd", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Models:llama:Device", StringComparison.Ordinal) && f.Contains("tpu9"));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Models:llama:Path", StringComparison.Ordinal));
        Assert.Equal(3, error.Failures.Count());
    }

    [Fact]
    public async Task Start_BadEnergyCachePriceAndDeniedFields_FailsNamingEachKey()
    {
        var settings = RunningServer.DemoSettings(3600, "demo-small");
        settings["ModelMeter:Devices:cpu:Energy:Source"] = "Wattmeter";
        settings["ModelMeter:Devices:cpu:Energy:BusyWatts"] = "-60";
        settings["ModelMeter:Devices:cpu:Energy:Grid:0:From"] = "2026-01-01T00:00:00Z";
        settings["ModelMeter:Devices:cpu:Energy:Grid:0:GramsPerKwh"] = "-1";
        settings["ModelMeter:Models:paid:Backend"] = "OpenAI";
        settings["ModelMeter:Models:paid:BaseUrl"] = "http://127.0.0.1:9/v1";
        settings["ModelMeter:Models:paid:Price:InputPerMillion"] = "3";
        settings["ModelMeter:Models:paid:Price:OutputPerMillion"] = "12";
        settings["ModelMeter:Models:paid:Price:CachedInputPerMillion"] = "-0.3";
        settings["ModelMeter:Models:paid:DeniedFields:0"] = "messages";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        foreach (var key in new[] { "ModelMeter:Devices:cpu:Energy:Source", "ModelMeter:Devices:cpu:Energy:BusyWatts", "ModelMeter:Devices:cpu:Energy:Grid", "ModelMeter:Models:paid:Price", "ModelMeter:Models:paid:DeniedFields" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith(key + ":", StringComparison.Ordinal));
        }

        Assert.Equal(5, error.Failures.Count());
    }

    [Fact]
    public async Task Start_NamesAReportWouldTakeForItsOwnRowsOrCouldNotAskFor_FailNamingEach()
    {
        // A model called "(idle)" would be summed as idle time in reports and in the idle sharing.
        var settings = RunningServer.DemoSettings(3600, "demo-small");
        settings["ModelMeter:Devices:(other):HourlyUsd"] = "1";
        settings["ModelMeter:Devices:gpu\t1:HourlyUsd"] = "1";
        settings["ModelMeter:Models:(idle):Backend"] = "OpenAI";
        settings["ModelMeter:Models:(idle):BaseUrl"] = "http://127.0.0.1:9/v1";
        settings["ModelMeter:Models:(idle):Price:InputPerMillion"] = "3";
        settings["ModelMeter:Models:(idle):Price:OutputPerMillion"] = "12";
        settings["ModelMeter:ScopeEndpoints:0"] = "summarize";
        settings["ModelMeter:ScopeEndpoints:1"] = "(unmetered)";
        settings["ModelMeter:Tenants:acme corp:RequestsPerMinute"] = "60"; // the cost API's ?tenant= could never name it
        settings["ModelMeter:Budgets:0:Name"] = "acme";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "5";
        settings["ModelMeter:Budgets:0:Scope"] = "Tenant";
        settings["ModelMeter:Budgets:0:Target"] = "acme corp"; // no request could ever be that tenant's

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        Assert.Equal(
            [
                "ModelMeter:Budgets:0:Target: 'acme corp' is not a tenant's name (letters, digits, '.', '_' or '-'), so the budget would cover nobody.",
                "ModelMeter:Devices:(other): the device's name must not start with '(': report rows such as (idle) and (other) do.",
                "ModelMeter:Devices:gpu\t1: the device's name must not hold control characters.",
                "ModelMeter:Models:(idle): the model's name must not start with '(': report rows such as (idle) and (other) do.",
                "ModelMeter:ScopeEndpoints:1: the endpoint's name must not start with '(': report rows such as (idle) and (other) do.",
                "ModelMeter:Tenants:acme corp: a tenant's name is 1 to 64 letters, digits, '.', '_' or '-'.",
            ],
            error.Failures.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Start_AuthOn_TenantBudgetForATenantWithoutAKey_FailsNamingTheTenants()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Auth:Enabled"] = "true";
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = new string('a', 64);
        settings["ModelMeter:Budgets:0:Name"] = "globex-cap";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "5";
        settings["ModelMeter:Budgets:0:Scope"] = "Tenant";
        settings["ModelMeter:Budgets:0:Target"] = "globex"; // a typo, or a tenant not added yet: nobody could ever be billed as it

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        Assert.Equal(["ModelMeter:Budgets:0:Target: unknown tenant 'globex'; with auth on the tenants are those of ModelMeter:Tenants (acme)."], error.Failures);
    }

    [Fact]
    public async Task Start_BadLedgerAuthAndBudgetKeys_FailsListingEveryKey()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Ledger:Provider"] = "Oracle";
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = "not-a-hash";
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "-5";
        settings["ModelMeter:Budgets:1:Name"] = "model-cap";
        settings["ModelMeter:Budgets:1:LimitUsd"] = "5";
        settings["ModelMeter:Budgets:1:Scope"] = "Model";
        settings["ModelMeter:Budgets:1:Target"] = "gpt-nope";
        settings["ModelMeter:Budgets:1:TimeZone"] = "Mars/Olympus";
        settings["ModelMeter:Budgets:2:Name"] = "acme-cap";
        settings["ModelMeter:Budgets:2:LimitUsd"] = "5";
        settings["ModelMeter:Budgets:2:Scope"] = "Tenant";
        settings["ModelMeter:Budgets:2:Target"] = "acme";
        settings["ModelMeter:Budgets:2:Action"] = "Enforce";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        foreach (var key in new[] { "ModelMeter:Ledger:Provider", "ModelMeter:Tenants:acme:ApiKeySha256", "ModelMeter:Budgets:0:LimitUsd", "ModelMeter:Budgets:1:Target", "ModelMeter:Budgets:1:TimeZone", "ModelMeter:Budgets:2:Scope" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith(key + ":", StringComparison.Ordinal));
        }

        Assert.Equal(6, error.Failures.Count());
    }

    [Fact]
    public async Task Start_SharedDeviceWithoutTheFleetLedgerAndBadLoad_FailsNamingEachKey()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Devices:gpu0:HourlyUsd"] = "36";
        settings["ModelMeter:Devices:gpu0:Shared"] = "true"; // with the SQLite ledger
        settings["ModelMeter:Devices:gpu0:Load:MetricsUrl"] = "vllm:8000/metrics";
        settings["ModelMeter:Devices:gpu0:Load:Metric"] = "num requests";
        settings["ModelMeter:Devices:gpu1:HourlyUsd"] = "36";
        settings["ModelMeter:Devices:gpu1:Load:MetricsUrl"] = "http://vllm:8000/metrics";
        settings["ModelMeter:Devices:gpu1:Load:Metric"] = "vllm:num_requests_running"; // not shared

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Devices:gpu0:Shared: ", StringComparison.Ordinal) && f.Contains("ClickHouse"));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Devices:gpu0:Load:MetricsUrl: 'vllm:8000/metrics'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Devices:gpu0:Load:Metric: 'num requests'", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:Devices:gpu1:Load: ", StringComparison.Ordinal) && f.Contains("Shared"));
        Assert.Equal(4, error.Failures.Count());
    }

    [Fact]
    public async Task Start_BadFleetKeys_FailsListingEveryKey()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Ledger:Provider"] = "ClickHouse";
        settings["ModelMeter:Ledger:ClickHouse:Url"] = "ftp://clickhouse";
        settings["ModelMeter:Ledger:ClickHouse:Database"] = "model meter; DROP";
        settings["ModelMeter:Ledger:ClickHouse:PasswordEnv"] = "MODELMETER_TEST_UNSET_PASSWORD";
        settings["ModelMeter:Ledger:ClickHouse:BatchSize"] = "0";
        settings["ModelMeter:BudgetStore:Provider"] = "Memcached";
        settings["ModelMeter:BudgetStore:ReconcileSeconds"] = "-1";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        foreach (var key in new[] { "Url", "Database", "PasswordEnv", "BatchSize" })
        {
            Assert.Contains(error.Failures, f => f.StartsWith($"ModelMeter:Ledger:ClickHouse:{key}:", StringComparison.Ordinal));
        }

        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:BudgetStore:Provider:", StringComparison.Ordinal) && f.Contains("Memcached"));
        Assert.Contains(error.Failures, f => f.StartsWith("ModelMeter:BudgetStore:ReconcileSeconds:", StringComparison.Ordinal));
        Assert.Equal(6, error.Failures.Count());
    }

    [Fact]
    public async Task Start_BadBackendKeys_EachBackendReportsItsOwnByKey()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Models:triton-model:Backend"] = "Triton";
        settings["ModelMeter:Models:triton-model:Device"] = "cpu";
        settings["ModelMeter:Models:vllm:Backend"] = "OpenAI";
        settings["ModelMeter:Models:vllm:Device"] = "cpu";
        settings["ModelMeter:Models:vllm:Retries"] = "50";
        settings["ModelMeter:Models:paid:Backend"] = "OpenAI";
        settings["ModelMeter:Models:paid:BaseUrl"] = "ftp://example.com/v1";
        settings["ModelMeter:Models:paid:ApiKeyEnv"] = "MODELMETER_TEST_KEY_THAT_IS_NOT_SET";
        settings["ModelMeter:Models:paid:Device"] = "cpu";
        settings["ModelMeter:Models:paid:Price:InputPerMillion"] = "1";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        string[] keys =
        [
            "ModelMeter:Models:triton-model:Backend", "ModelMeter:Models:vllm:BaseUrl", "ModelMeter:Models:vllm:Retries",
            "ModelMeter:Models:paid:BaseUrl", "ModelMeter:Models:paid:ApiKeyEnv", "ModelMeter:Models:paid:Device",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(error.Failures, f => f.StartsWith(key + ":", StringComparison.Ordinal));
        }

        Assert.Equal(keys.Length, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.Contains("registered: ", StringComparison.Ordinal) && f.Contains("OpenAI", StringComparison.Ordinal) && f.Contains("Onnx", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_BadBatchingKeys_FailsNamingEachKey()
    {
        var settings = RunningServer.DemoSettings(3600, "demo-small");
        settings["ModelMeter:Models:demo-small:MaxBatch"] = "0";
        settings["ModelMeter:Models:demo-small:PrefillChunkTokens"] = "0";
        settings["ModelMeter:Models:demo-small:JoinWindowMs"] = "-5";
        settings["ModelMeter:Models:demo-small:IntraOpThreads"] = "-1";
        settings["ModelMeter:Models:demo-small:WarmUpTokens"] = "-1";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        string[] keys =
        [
            "ModelMeter:Models:demo-small:MaxBatch", "ModelMeter:Models:demo-small:PrefillChunkTokens", "ModelMeter:Models:demo-small:JoinWindowMs",
            "ModelMeter:Models:demo-small:IntraOpThreads", "ModelMeter:Models:demo-small:WarmUpTokens",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(error.Failures, f => f.StartsWith(key + ":", StringComparison.Ordinal));
        }

        Assert.Equal(keys.Length, error.Failures.Count());
    }

    [Fact]
    public async Task Start_OnnxModelOnAGpuDevice_FailsNamingTheKey()
    {
        // ONNX Runtime here is the CPU build: on a Gpu device the model would run on the CPU and be billed at the GPU's rate.
        var settings = RunningServer.DemoSettings(models: "demo-small");
        settings["ModelMeter:Devices:gpu0:Kind"] = "Gpu";
        settings["ModelMeter:Devices:gpu0:HourlyUsd"] = "2.5";
        settings["ModelMeter:Models:demo-small:Device"] = "gpu0";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith("ModelMeter:Models:demo-small:Device: 'gpu0' is a Gpu device", failure);
        Assert.Contains("CPU build", failure);
    }

    [Fact]
    public async Task Start_AuthOnWithoutTenantKeys_FailsNamingAuth()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Auth:Enabled"] = "true";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RunningServer.StartAsync(settings));

        Assert.StartsWith("ModelMeter:Auth:Enabled:", Assert.Single(error.Failures));
    }

    [Fact]
    public void Validate_ShippedAppSettings_Passes()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).Build();
        var options = configuration.GetSection(ModelMeterOptions.Section).Get<ModelMeterOptions>()!;
        var environment = new FakeEnvironment { ContentRootPath = Path.GetTempPath() };

        var metrics = new ModelMeter.Metering.ModelMeterMetrics(Prometheus.Metrics.NewCustomRegistry());
        ModelMeter.Serving.IModelBackendFactory[] factories =
            [new ModelMeter.Onnx.Hosting.OnnxBackendFactory(environment, metrics, new Microsoft.Extensions.DependencyInjection.ServiceCollection().BuildServiceProvider(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ModelMeter.Onnx.Hosting.OnnxBackendFactory>.Instance)];
        var sections = new ModelSections(configuration.GetSection(ModelMeterOptions.Section));

        var result = new ModelMeterOptionsValidator(factories, sections).Validate(null, options);

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Equal(["demo-large", "demo-medium", "demo-small"], options.Models.Keys.Order());
        Assert.Equal(512, options.Limits.MaxTokens);
        Assert.Equal(1024 * 1024, options.Limits.MaxBodyBytes);
    }

    [Fact]
    public async Task Start_EnvironmentStyleOverride_ChangesTheRate()
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 0.17);
        settings["ModelMeter:Devices:cpu:Rates:0:From"] = "2020-01-01T00:00:00Z";
        settings["ModelMeter:Devices:cpu:Rates:0:HourlyUsd"] = "7.5";
        await using var server = await RunningServer.StartAsync(settings);

        var meter = server.Services.GetRequiredService<ModelMeter.Metering.CostMeter>();

        Assert.Equal(7.5, meter.Devices.Single().Rates.HourlyUsdOf(meter.Devices.Single().Snapshot().RateVersion));
    }

    private sealed class FakeEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "ModelMeter.Server";
        public string ContentRootPath { get; set; } = "";
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }
}
