using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Metering;
using ModelMeter.Server.Cli;
using ModelMeter.Server.Hosting;

namespace ModelMeter.Server;

/// <summary>The host's wiring: ModelMeter with the ONNX backend, where to listen, Kestrel's body limit, and the error pages.</summary>
public static class ModelMeterServer
{
    /// <summary>
    /// Adds ModelMeter with the ONNX backend. Listens on <c>http://127.0.0.1:8000</c> unless <c>Kestrel:Endpoints</c>,
    /// <c>--urls</c>/<c>ASPNETCORE_URLS</c>/<c>Urls</c> or <c>ASPNETCORE_HTTP_PORTS</c> say otherwise, in ASP.NET Core's
    /// order (<see cref="ListenAddresses"/>); on loopback only,
    /// <c>AllowedHosts</c> defaults to the loopback names (a DNS-rebinding page gets 400). Refuses to listen beyond
    /// loopback with auth off unless <c>ModelMeter:Auth:AllowAnonymousRemote</c> is true.
    /// A <c>CollectorRegistry</c> or <see cref="TimeProvider"/> registered before this call is used instead of the defaults.
    /// Keeps prometheus-net's meter adapter off ModelMeter's GenAI meter and .NET's private ones (<see cref="ExportsThroughAdapter"/>),
    /// replacing any adapter configuration made before.
    /// </summary>
    public static WebApplicationBuilder AddModelMeterServer(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var addresses = ListenAddresses.Configured(configuration);
        if (addresses.Count == 0)
        {
            builder.WebHost.UseUrls(ListenAddresses.Default);
        }

        if (addresses.Select(ListenAddresses.Problem).OfType<string>().FirstOrDefault() is { } badAddress)
        {
            throw new InvalidOperationException(
                $"ModelMeter could not listen: {badAddress} (from --urls, ASPNETCORE_URLS, Urls, Kestrel:Endpoints or ASPNETCORE_HTTP_PORTS); e.g. --urls http://127.0.0.1:8000");
        }

        var loopbackOnly = addresses.All(ListenAddresses.IsLoopback);
        var auth = configuration.GetSection($"{ModelMeterOptions.Section}:Auth").Get<AuthOptions>() ?? new AuthOptions();
        if (!loopbackOnly && !auth.Enabled && !auth.AllowAnonymousRemote)
        {
            throw new InvalidOperationException(
                $"ModelMeter:Auth:Enabled: the server would listen beyond loopback ({string.Join(", ", addresses)}) with auth off, " +
                "so anyone who reaches it could spend the budget and read every tenant's cost. Turn auth on, listen on 127.0.0.1, " +
                "or set ModelMeter:Auth:AllowAnonymousRemote=true to accept that.");
        }

        if (loopbackOnly && string.IsNullOrEmpty(configuration["AllowedHosts"]))
        {
            configuration["AllowedHosts"] = ListenAddresses.LoopbackHosts;
        }

        // prometheus-net's meter adapter (on unless suppressed) starts at the default registry's first scrape and listens to
        // every System.Diagnostics.Metrics meter. ModelMeter's GenAI histograms are for OpenTelemetry collectors and repeat
        // model_request_duration_seconds and the token counters; through the adapter each request paid about 2 µs to
        // record them again as modelmeter_gen_ai_* (measured). Other meters (ASP.NET Core's, the runtime's) are kept.
        Prometheus.Metrics.ConfigureMeterAdapter(adapter => adapter.InstrumentFilterPredicate = ExportsThroughAdapter);
        builder.Services.AddModelMeter(configuration);
        builder.Services.AddOnnx();
        builder.Services.AddHostedService<AnonymousRemoteGuard>();
        builder.Services.AddRequestDecompression(); // gzip, br and deflate bodies, held to the body limit as decompressed
        var maxBody = configuration.GetValue<long?>($"{ModelMeterOptions.Section}:Limits:MaxBodyBytes") ?? new LimitsOptions().MaxBodyBytes;
        if (maxBody >= 1)
        {
            // Kestrel throws on a negative limit as its options are made; below 1 the validator names the setting instead.
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);
        }
        return builder;
    }

    /// <summary>
    /// What prometheus-net's meter adapter exports: every meter's instruments but ModelMeter's GenAI ones
    /// (<see cref="GenAiInstruments.IsNotGenAi"/>) and .NET's private diagnostics (<c>Private.InternalDiagnostics.*</c>, such
    /// as MsQuic's, which .NET keeps for its own use: they filled /metrics with 32 <c>private_internaldiagnostics_*</c> series).
    /// </summary>
    public static bool ExportsThroughAdapter(System.Diagnostics.Metrics.Instrument instrument) =>
        GenAiInstruments.IsNotGenAi(instrument) && !instrument.Meter.Name.StartsWith("Private.InternalDiagnostics.", StringComparison.Ordinal);

    /// <summary>Maps ModelMeter's routes with the host's error handling.</summary>
    public static WebApplication MapModelMeterServer(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseRequestDecompression();
        app.MapModelMeter();
        app.MapDemoTraffic();
        return app;
    }
}
