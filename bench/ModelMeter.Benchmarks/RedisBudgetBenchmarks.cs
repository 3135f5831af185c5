using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using StackExchange.Redis;

namespace ModelMeter.Benchmarks;

/// <summary>
/// What fleet budgets add to a request: admission then settlement against a real Redis (bench/fleet/redis.sh starts
/// Debian's and sets MODELMETER_REDIS), for a request under one budget and under three.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class RedisBudgetBenchmarks
{
    private ConnectionMultiplexer _redis = null!;
    private RedisBudgetStore _one = null!;
    private RedisBudgetStore _three = null!;
    private long _request;

    [GlobalSetup]
    public void Setup()
    {
        _redis = ConnectionMultiplexer.Connect(Environment.GetEnvironmentVariable("MODELMETER_REDIS") ?? "127.0.0.1:6379");
        var daily = new BudgetDefinition("daily", BudgetScope.Global, null, BudgetPeriod.Day, TimeZoneInfo.Utc, 1e12, [0.8, 1.0], true, null);
        var monthly = daily with { Name = "monthly", Period = BudgetPeriod.Month };
        var tenant = daily with { Name = "acme", Scope = BudgetScope.Tenant, Target = "acme" };
        var metrics = new ModelMeterMetrics(Prometheus.Metrics.NewCustomRegistry());
        _one = new RedisBudgetStore(_redis, [daily], new BudgetStoreOptions(), TimeProvider.System, metrics, NullLogger<RedisBudgetStore>.Instance);
        _three = new RedisBudgetStore(_redis, [daily, monthly, tenant], new BudgetStoreOptions(), TimeProvider.System, metrics, NullLogger<RedisBudgetStore>.Instance);
    }

    [GlobalCleanup]
    public void Cleanup() => _redis.Dispose();

    [Benchmark(Baseline = true)]
    public async Task AdmitAndSettle_OneBudget() => await _one.SettleAsync(await _one.AdmitAsync($"b{Interlocked.Increment(ref _request)}", "m", "acme", 0.01), 0.008);

    [Benchmark]
    public async Task AdmitAndSettle_ThreeBudgets() => await _three.SettleAsync(await _three.AdmitAsync($"b{Interlocked.Increment(ref _request)}", "m", "acme", 0.01), 0.008);
}
