using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>The gateway: models with <c>"Backend": "OpenAI"</c> forward to an OpenAI-compatible upstream.</summary>
internal static class GatewayServices
{
    /// <summary>Adds the OpenAI gateway's backend factory (its keys are <see cref="OpenAiGatewayOptions"/>).</summary>
    public static IServiceCollection AddOpenAiGateway(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, OpenAiGatewayFactory>());
        return services;
    }
}
