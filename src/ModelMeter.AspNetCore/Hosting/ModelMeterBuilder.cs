using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelMeter.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddModelMeter</c>: adds backends beyond the built-in <c>OpenAI</c> and <c>External</c>.</summary>
public sealed class ModelMeterBuilder(IServiceCollection services)
{
    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>Registers a backend factory; models whose <c>Backend</c> equals its <see cref="IModelBackendFactory.Name"/> use it.</summary>
    public ModelMeterBuilder AddBackendFactory<TFactory>()
        where TFactory : class, IModelBackendFactory
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelBackendFactory, TFactory>());
        return this;
    }
}
