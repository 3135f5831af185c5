using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>The models served here: the catalog, the <c>External</c> backend and the loader that makes every backend.</summary>
internal static class CatalogServices
{
    /// <summary>Adds the catalog, the <c>External</c> backend factory and the model loader (a hosted service), once.</summary>
    public static IServiceCollection AddModelCatalog(this IServiceCollection services)
    {
        if (services.Any(s => s.ServiceType == typeof(ModelCatalog)))
        {
            return services;
        }

        services.AddSingleton<ModelCatalog>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, ExternalBackendFactory>());
        services.AddHostedService<ModelLoader>();
        return services;
    }
}
