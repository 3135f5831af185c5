using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelMeter.Allocation;
using ModelMeter.Metering;
using ModelMeter.Server.Configuration;
using ModelMeter.Server.Dashboard;
using ModelMeter.Server.Endpoints;
using ModelMeter.Server.Endpoints.OpenAi;
using ModelMeter.Budgets;
using ModelMeter.Server.Budgets;
using ModelMeter.Server.Ledger;
using ModelMeter.Server.Models;
using ModelMeter.Server.Tenancy;
using ModelMeter.Telemetry;
using Prometheus;

namespace ModelMeter.Server;

/// <summary>Wires the server: options, metering, model loading, routes.</summary>
public static class ModelMeterServerExtensions
{
    /// <summary>The endpoint label values this server uses.</summary>
    internal static readonly string[] Endpoints = [GenerateEndpoints.Endpoint, OpenAiEndpoints.Completions, OpenAiEndpoints.ChatCompletions];

    /// <summary>Adds the server's services. A <see cref="CollectorRegistry"/> or <see cref="TimeProvider"/> registered before this call is used instead of the defaults.</summary>
    public static WebApplicationBuilder AddModelMeterServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ModelMeterOptions>().BindConfiguration(ModelMeterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelMeterOptions>, ModelMeterOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(Prometheus.Metrics.DefaultRegistry);
        services.AddSingleton(sp => new ModelMeterMetrics(
            sp.GetRequiredService<CollectorRegistry>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>().Create(new System.Diagnostics.Metrics.MeterOptions(GenAiInstruments.MeterName))));
        services.AddSingleton(CreateMeter);
        services.AddSingleton(sp => new GpuMonitor(
            sp.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Devices.Where(d => d.Value.Kind == DeviceKind.Gpu).ToDictionary(d => d.Key, d => d.Value.GpuIndex),
            sp.GetRequiredService<CollectorRegistry>()));
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<TenantResolver>();
        services.AddSingleton<CostEstimator>();
        services.AddSingleton(sp => new BudgetTracker(
            sp.GetRequiredService<IOptions<ModelMeterOptions>>().Value.Budgets.Select(b => b.ToDefinition()),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ModelMeterMetrics>()));
        services.AddHttpClient(nameof(BudgetNotifier), client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<BudgetNotifier>();
        services.AddSingleton<BudgetGate>();
        services.AddSingleton<GenerationService>();
        // The ledger host is registered first so that it stops last, after the models and after Kestrel has drained.
        services.AddSingleton<LedgerHost>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerHost>());
        services.AddHostedService(sp => sp.GetRequiredService<BudgetNotifier>());
        services.AddHostedService<ModelLoader>();
        services.AddProblemDetails();

        var maxBody = builder.Configuration.GetValue<long?>($"{ModelMeterOptions.Section}:Limits:MaxBodyBytes") ?? new LimitsOptions().MaxBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);
        return builder;
    }

    /// <summary>Maps the routes and starts the device clocks.</summary>
    public static WebApplication MapModelMeterServer(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapGenerate();
        app.MapOpenAi();
        app.MapInfo();
        app.MapCosts();
        app.MapDashboard();
        app.MapMetrics(registry: app.Services.GetRequiredService<CollectorRegistry>());
        // Device bills run from server start, busy or not; GPU gauges exist only where NVML answers.
        app.Services.GetRequiredService<CostMeter>();
        app.Services.GetRequiredService<GpuMonitor>();
        return app;
    }

    private static CostMeter CreateMeter(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ModelMeterOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var devices = options.Devices.Select(d => new DeviceAllocator(d.Key, d.Value.ToRateCard(), time, options.Allocation.Method));
        var placements = options.Models.ToDictionary(m => m.Key, m => m.Value.Device!);
        var metrics = services.GetRequiredService<ModelMeterMetrics>();
        foreach (var (model, m) in options.Models)
        {
            if (m.ReferencePrice is { } price)
            {
                metrics.ReferencePrice.WithLabels(model, "input").Set(price.InputPerMillion);
                metrics.ReferencePrice.WithLabels(model, "output").Set(price.OutputPerMillion);
            }
        }

        return new CostMeter(devices, placements, Endpoints, metrics, time, services.GetRequiredService<TenantResolver>().NamedTenants);
    }
}
