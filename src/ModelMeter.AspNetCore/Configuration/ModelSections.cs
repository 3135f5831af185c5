using Microsoft.Extensions.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>The configuration sections of the models (<c>ModelMeter:Models:{name}</c>), from which each backend binds its own keys.</summary>
/// <param name="models">The <c>ModelMeter:Models</c> section.</param>
internal sealed class ModelSections(IConfiguration models)
{
    /// <summary>What the backend factory of <paramref name="model"/> is given (<paramref name="devices"/> tell whether its device is a GPU).</summary>
    public ModelBackendSettings For(string model, ModelOptions options, IReadOnlyDictionary<string, DeviceOptions> devices) =>
        new(model, models.GetSection(model), options.Price is not null)
        {
            OnGpu = options.Device is { } device && devices.TryGetValue(device, out var d) && d.Kind == DeviceKind.Gpu,
        };
}
