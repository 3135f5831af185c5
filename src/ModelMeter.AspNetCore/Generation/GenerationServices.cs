using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>The one path of every generation.</summary>
internal static class GenerationServices
{
    /// <summary>Adds the generation pipeline.</summary>
    public static IServiceCollection AddGenerationPipeline(this IServiceCollection services)
    {
        services.TryAddSingleton<GenerationPipeline>();
        return services;
    }
}
