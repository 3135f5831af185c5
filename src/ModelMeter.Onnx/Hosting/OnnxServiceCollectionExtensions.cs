using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelMeter.Onnx.Hosting;
using ModelMeter.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary><c>services.AddOnnx()</c>: models with <c>"Backend": "Onnx"</c> run here with ONNX Runtime.</summary>
public static class OnnxServiceCollectionExtensions
{
    /// <summary>Registers the ONNX backend factory (once, however often it is called).</summary>
    public static IServiceCollection AddOnnx(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, OnnxBackendFactory>());
        return services;
    }
}
