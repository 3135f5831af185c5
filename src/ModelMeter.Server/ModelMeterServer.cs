using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Server.Onnx;

namespace ModelMeter.Server;

/// <summary>The host's wiring: ModelMeter with the ONNX backend, Kestrel's body limit, and the error pages.</summary>
public static class ModelMeterServer
{
    /// <summary>Adds ModelMeter with the ONNX backend. A <c>CollectorRegistry</c> or <see cref="TimeProvider"/> registered before this call is used instead of the defaults.</summary>
    public static WebApplicationBuilder AddModelMeterServer(this WebApplicationBuilder builder)
    {
        builder.Services.AddModelMeter(builder.Configuration).AddBackendFactory<OnnxBackendFactory>();
        var maxBody = builder.Configuration.GetValue<long?>($"{ModelMeterOptions.Section}:Limits:MaxBodyBytes") ?? new LimitsOptions().MaxBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);
        return builder;
    }

    /// <summary>Maps ModelMeter's routes with the host's error handling.</summary>
    public static WebApplication MapModelMeterServer(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapModelMeter();
        return app;
    }
}
