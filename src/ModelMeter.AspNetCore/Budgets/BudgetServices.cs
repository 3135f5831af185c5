using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Budgets;
using ModelMeter.Metering;
using Polly;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>Budgets: the estimator, the store (in memory or Redis), admission, webhooks and reconciliation.</summary>
internal static class BudgetServices
{
    /// <summary>Adds the budget services and their hosted services (the notifier, the reconciler), once.</summary>
    public static IServiceCollection AddModelMeterBudgets(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(BudgetGate)))
        {
            return services;
        }

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
        services.TryAddSingleton<BudgetNotifier>();
        services.TryAddSingleton<BudgetGate>();
        services.AddHostedService(sp => sp.GetRequiredService<BudgetNotifier>());
        services.AddHostedService<BudgetReconciler>();
        return services;
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
            connection, [.. options.Budgets.Select(b => b.ToDefinition())], options.BudgetStore, services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ModelMeterMetrics>(), services.GetRequiredService<ILogger<RedisBudgetStore>>());
    }

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
}
