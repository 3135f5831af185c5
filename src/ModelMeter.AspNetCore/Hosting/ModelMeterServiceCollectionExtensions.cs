using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelMeter.Allocation;
using ModelMeter.AspNetCore;
using ModelMeter.AspNetCore.Budgets;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.AspNetCore.Hosting;
using ModelMeter.AspNetCore.Hosting.Validation;
using ModelMeter.AspNetCore.Gateway;
using ModelMeter.AspNetCore.Generate;
using ModelMeter.AspNetCore.Generation;
using ModelMeter.AspNetCore.Ledger;
using ModelMeter.AspNetCore.OpenAi;
using ModelMeter.AspNetCore.Tenancy;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using ModelMeter.Pricing;
using ModelMeter.Telemetry;
using Polly;
using Prometheus;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary><c>services.AddModelMeter(configuration)</c>: ModelMeter's services, usable in any ASP.NET Core app.</summary>
public static class ModelMeterServiceCollectionExtensions
{
    /// <summary>
    /// Adds ModelMeter: options from the <c>ModelMeter</c> section of <paramref name="configuration"/> (validated at start,
    /// all errors at once), the cost meter, ledger, budgets, tenants, the generation pipeline, the model catalog with the
    /// <c>OpenAI</c> (gateway) and <c>External</c> backends, and <see cref="ModelMeterScope"/> for metering your own endpoints.
    /// Services registered before this call (a <see cref="CollectorRegistry"/>, a <see cref="TimeProvider"/>) are kept.
    /// Forces no middleware and no server settings on the application.
    /// </summary>
    public static ModelMeterBuilder AddModelMeter(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ModelMeterOptions>().Bind(configuration.GetSection(ModelMeterOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelMeterOptions>, ModelMeterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(Metrics.DefaultRegistry);
        services.AddMetrics();
        services.TryAddSingleton(sp => new ModelMeterMetrics(
            sp.GetRequiredService<CollectorRegistry>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>().Create(new System.Diagnostics.Metrics.MeterOptions(GenAiInstruments.MeterName))));
        services.TryAddSingleton(CreateMeter);
        services.TryAddSingleton(sp => new GpuMonitor(
            sp.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Devices.Where(d => d.Value.Kind == DeviceKind.Gpu).ToDictionary(d => d.Key, d => d.Value.GpuIndex),
            sp.GetRequiredService<CollectorRegistry>()));
        services.TryAddSingleton<ModelCatalog>();
        services.TryAddSingleton<TenantResolver>();
        services.TryAddSingleton<TenantRateLimiter>();
        services.TryAddSingleton<CostEstimator>();
        services.TryAddSingleton(sp => new BudgetTracker(
            sp.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Budgets.Select(b => b.ToDefinition()),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ModelMeterMetrics>()));
        services.TryAddSingleton<IBudgetStore>(sp =>
            string.Equals(sp.GetRequiredService<IOptions<ModelMeterOptions>>().Value.BudgetStore.Provider, "Redis", StringComparison.OrdinalIgnoreCase)
                ? CreateRedisBudgetStore(sp)
                : sp.GetRequiredService<BudgetTracker>());
        AddWebhookClient(services);
        AddClickHouseClient(services);
        services.TryAddSingleton<BudgetNotifier>();
        services.TryAddSingleton<BudgetGate>();
        services.TryAddSingleton<GenerationPipeline>();
        services.TryAddSingleton(sp => new ModelMeterScope(sp.GetRequiredService<CostMeter>(), sp.GetRequiredService<GenerationPipeline>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, OpenAiGatewayFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, ExternalBackendFactory>());

        // The ledger host is registered first so that it stops last, after the models and after the server has drained.
        if (!services.Any(s => s.ServiceType == typeof(LedgerHost)))
        {
            services.TryAddSingleton<LedgerHost.ListeningAddress>(sp => () => ServerAddresses.Local(sp.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()));
            services.AddSingleton<LedgerHost>();
            services.AddHostedService(sp => sp.GetRequiredService<LedgerHost>());
            services.AddHostedService(sp => sp.GetRequiredService<BudgetNotifier>());
            services.AddHostedService<BudgetReconciler>();
            services.AddHostedService<ModelLoader>();
        }

        services.AddProblemDetails();
        return new ModelMeterBuilder(services);
    }

    /// <summary>Budgets in Redis: connects in the background (the server starts while Redis is down), each call bounded by TimeoutMs.</summary>
    private static RedisBudgetStore CreateRedisBudgetStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ModelMeterOptions>>().Value;
        var redis = options.BudgetStore.Redis;
        var configuration = StackExchange.Redis.ConfigurationOptions.Parse(redis.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = redis.TimeoutMs;
        configuration.SyncTimeout = redis.TimeoutMs;
        configuration.AsyncTimeout = redis.TimeoutMs;
        var connection = StackExchange.Redis.ConnectionMultiplexer.Connect(configuration);
        return new RedisBudgetStore(
            connection, [.. options.Budgets.Select(b => b.ToDefinition())], redis, options.BudgetStore.OnUnavailable,
            services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ModelMeterMetrics>(), services.GetRequiredService<ILogger<RedisBudgetStore>>());
    }

    /// <summary>ClickHouse: each attempt bounded by the configured timeout, retried twice with back-off (shipments are idempotent).</summary>
    private static void AddClickHouseClient(IServiceCollection services) =>
        services.AddHttpClient(LedgerHost.ClickHouseClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
            .AddResilienceHandler("clickhouse", (pipeline, context) =>
            {
                var clickHouse = context.ServiceProvider.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Ledger.ClickHouse;
                pipeline.AddRetry(new Microsoft.Extensions.Http.Resilience.HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    Delay = TimeSpan.FromMilliseconds(200),
                    BackoffType = Polly.DelayBackoffType.Exponential,
                    UseJitter = true,
                });
                pipeline.AddTimeout(TimeSpan.FromSeconds(clickHouse.TimeoutSeconds));
            });

    /// <summary>Webhooks: no redirects followed; each attempt bounded, retried with back-off (Polly), the whole delivery bounded too.</summary>
    private static void AddWebhookClient(IServiceCollection services) =>
        services.AddHttpClient(BudgetNotifier.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
            .AddResilienceHandler("webhooks", (pipeline, context) =>
            {
                var webhooks = context.ServiceProvider.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Webhooks;
                pipeline.AddTimeout(TimeSpan.FromMinutes(10));
                if (webhooks.Retries > 0)
                {
                    pipeline.AddRetry(new Microsoft.Extensions.Http.Resilience.HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = webhooks.Retries,
                        Delay = TimeSpan.FromSeconds(1),
                        BackoffType = Polly.DelayBackoffType.Exponential,
                        UseJitter = true,
                    });
                }

                pipeline.AddTimeout(TimeSpan.FromSeconds(webhooks.TimeoutSeconds));
            });

    private static CostMeter CreateMeter(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ModelMeterOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var devices = options.Devices.Select(d => new DeviceAllocator(d.Key, d.Value.ToRateCard(), time, options.Allocation.Method));
        var placements = options.Models.Where(m => m.Value.Price is null).ToDictionary(m => m.Key, m => m.Value.Device!);
        var prices = options.Models.Where(m => m.Value.Price is not null)
            .ToDictionary(m => m.Key, m => new TokenPrice(m.Value.Price!.InputPerMillion, m.Value.Price.OutputPerMillion));
        var metrics = services.GetRequiredService<ModelMeterMetrics>();
        foreach (var (model, m) in options.Models)
        {
            if ((m.ReferencePrice ?? m.Price) is { } price)
            {
                metrics.ReferencePrice.WithLabels(model, "input").Set(price.InputPerMillion);
                metrics.ReferencePrice.WithLabels(model, "output").Set(price.OutputPerMillion);
            }
        }

        var endpoints = ModelMeterEndpointRouteBuilderExtensions.Endpoints.Append(ModelMeterScope.DefaultEndpoint).Concat(options.ScopeEndpoints).Distinct().ToArray();
        return new CostMeter(devices, placements, endpoints, metrics, time, services.GetRequiredService<TenantResolver>().NamedTenants, prices);
    }
}
