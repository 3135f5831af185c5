using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using Polly;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>The ledger's services: its host (opening, idle minutes, shipping) and the ClickHouse client.</summary>
internal static class LedgerServices
{
    /// <summary>Adds the ledger host as a hosted service (once) and the ClickHouse client; needs a <see cref="LedgerHost.ListeningAddress"/>.</summary>
    public static IServiceCollection AddModelMeterLedger(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(LedgerHost)))
        {
            return services;
        }

        AddClickHouseClient(services);
        services.AddSingleton<LedgerHost>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerHost>());
        return services;
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
}
