using Microsoft.Extensions.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>The configuration sections of the models (<c>ModelMeter:Models:{name}</c>), from which each backend binds its own keys.</summary>
/// <param name="models">The <c>ModelMeter:Models</c> section.</param>
internal sealed class ModelSections(IConfiguration models)
{
    /// <summary>What the backend factory of <paramref name="model"/> is given.</summary>
    public ModelBackendSettings For(string model, ModelOptions options) => new(model, models.GetSection(model), options.Price is not null);
}
