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
using ModelMeter.Energy;
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
        services.TryAddSingleton(new ModelSections(configuration.GetSection(ModelMeterOptions.Section)));
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
        services.TryAddSingleton<ListeningAddress>(sp => () => ServerAddresses.Local(sp.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()));

        // Each feature adds its own services. The ledger comes first so that its host stops last, after the models and
        // after the server has drained; budgets' services stop before it and the model loader before them.
        services.AddModelMeterLedger();
        services.AddModelMeterTenancy();
        services.AddModelMeterBudgets();
        services.AddModelCatalog();
        services.AddOpenAiGateway();
        services.AddGenerationPipeline();
        services.TryAddSingleton(sp => new ModelMeterScope(sp.GetRequiredService<CostMeter>(), sp.GetRequiredService<RequestAdmission>()));
        services.AddProblemDetails();
        return new ModelMeterBuilder(services);
    }

    /// <summary>The device's energy: NVML for a GPU where it answers (unless an estimate is asked for), else its idle and busy watts.</summary>
    private static IEnergySource? EnergySourceOf(DeviceOptions device)
    {
        var energy = device.Energy;
        var source = energy.Source ?? (device.Kind == DeviceKind.Gpu ? "Nvml" : "Estimate");
        if (source.Equals("None", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (source.Equals("Nvml", StringComparison.OrdinalIgnoreCase) && NvmlEnergy.Open(device.GpuIndex) is { } nvml)
        {
            return nvml;
        }

        var gpu = device.Kind == DeviceKind.Gpu;
        return new EstimatedPower(
            energy.IdleWatts ?? (gpu ? DeviceEnergyOptions.GpuIdleWatts : DeviceEnergyOptions.CpuIdleWatts),
            energy.BusyWatts ?? (gpu ? DeviceEnergyOptions.GpuBusyWatts : DeviceEnergyOptions.CpuBusyWatts));
    }

    private static CostMeter CreateMeter(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ModelMeterOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var devices = options.Devices.Select(d => new DeviceAllocator(
            d.Key, d.Value.ToRateCard(), time, options.Allocation.Method, EnergySourceOf(d.Value), d.Value.Energy.ToGridIntensity()));
        var placements = options.Models.Where(m => m.Value.Price is null).ToDictionary(m => m.Key, m => m.Value.Device!);
        var prices = options.Models.Where(m => m.Value.Price is not null)
            .ToDictionary(m => m.Key, m => m.Value.Price!.ToTokenPrice());
        var metrics = services.GetRequiredService<ModelMeterMetrics>();
        foreach (var (model, m) in options.Models)
        {
            if ((m.ReferencePrice ?? m.Price) is { } price)
            {
                metrics.ReferencePrice.WithLabels(model, "input").Set(price.InputPerMillion);
                metrics.ReferencePrice.WithLabels(model, "output").Set(price.OutputPerMillion);
                if (price.CachedInputPerMillion is { } cached)
                {
                    metrics.ReferencePrice.WithLabels(model, TokenDirections.CachedInput).Set(cached);
                }

                if (price.CacheWritePerMillion is { } written)
                {
                    metrics.ReferencePrice.WithLabels(model, TokenDirections.CacheWrite).Set(written);
                }
            }
        }

        var endpoints = ModelMeterEndpointRouteBuilderExtensions.Endpoints.Append(ModelMeterScope.DefaultEndpoint).Concat(options.ScopeEndpoints).Distinct().ToArray();
        return new CostMeter(devices, placements, endpoints, metrics, time, services.GetRequiredService<TenantResolver>().NamedTenants, prices);
    }
}
