using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Ledger;
using Polly;

namespace ModelMeter.AspNetCore.Ledger;

/// <summary>The ledger's services: opening and writing, start-up seeding, idle minutes, shipping, shared devices' load readings and settlement, and the ClickHouse client.</summary>
internal static class LedgerServices
{
    /// <summary>Adds the ledger's services and hosted services (once) and the ClickHouse client; shipping needs a <see cref="ListeningAddress"/>.</summary>
    public static IServiceCollection AddModelMeterLedger(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(LedgerStorage)))
        {
            return services;
        }

        AddClickHouseClient(services);
        services.AddSingleton<LedgerStorage>();
        services.AddSingleton<ILedgerRecorder>(sp => sp.GetRequiredService<LedgerStorage>());
        services.AddSingleton<IdleMinutes>();
        services.AddSingleton<LedgerShipper>();
        services.AddSingleton<DeviceLoadReadings>();
        services.AddHttpClient(DeviceLoadSampler.ClientName, client => client.Timeout = TimeSpan.FromSeconds(2))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(2) });

        // Started in this order before the server listens, stopped in the reverse one after it drained: the last idle
        // minute is written before the writer drains, and the last shipment waits until everything has stopped.
        services.AddHostedService(sp => sp.GetRequiredService<LedgerStorage>());
        services.AddHostedService<LedgerSeeding>();
        services.AddHostedService(sp => sp.GetRequiredService<IdleMinutes>());
        services.AddHostedService(sp => sp.GetRequiredService<LedgerShipper>());
        services.AddHostedService<DeviceLoadSampler>();
        services.AddSingleton<SharedDeviceSettler>();
        services.AddHostedService(sp => sp.GetRequiredService<SharedDeviceSettler>());
        return services;
    }

    /// <summary>ClickHouse: each attempt bounded by the configured timeout, retried twice with back-off (shipments are idempotent).</summary>
    private static void AddClickHouseClient(IServiceCollection services) =>
        services.AddHttpClient(LedgerStorage.ClickHouseClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
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
