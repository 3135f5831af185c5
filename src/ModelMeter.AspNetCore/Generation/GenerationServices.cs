using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>The one path of every generation.</summary>
internal static class GenerationServices
{
    /// <summary>Adds request admission and the generation pipeline.</summary>
    public static IServiceCollection AddGenerationPipeline(this IServiceCollection services)
    {
        services.TryAddSingleton<RequestAdmission>();
        services.TryAddSingleton<GenerationPipeline>();
        return services;
    }
}
