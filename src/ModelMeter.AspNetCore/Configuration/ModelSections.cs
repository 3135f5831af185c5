using Microsoft.Extensions.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>
/// The <c>ModelMeter</c> section as configured: the models' own sections (<c>ModelMeter:Models:{name}</c>), from which each
/// backend binds its own keys, and the whole section, for the validator to name what the binder could not read.
/// </summary>
/// <param name="root">The <c>ModelMeter</c> section.</param>
internal sealed class ModelSections(IConfiguration root)
{
    /// <summary>The <c>ModelMeter</c> section.</summary>
    public IConfiguration Root => root;

    /// <summary>What the backend factory of <paramref name="model"/> is given (<paramref name="devices"/> tell whether its device is a GPU).</summary>
    public ModelBackendSettings For(string model, ModelOptions options, IReadOnlyDictionary<string, DeviceOptions> devices) =>
        new(model, root.GetSection("Models").GetSection(model), options.Price is not null)
        {
            OnGpu = options.Device is { } device && devices.TryGetValue(device, out var d) && d.Kind == DeviceKind.Gpu,
        };
}
