using Microsoft.Extensions.Configuration;

namespace ModelMeter.Serving;

/// <summary>One configured model, as its backend factory sees it: its name, its configuration section and how it is paid for.</summary>
/// <param name="Model">The model's name (its key under <c>ModelMeter:Models</c>).</param>
/// <param name="Section">The model's configuration section; a backend binds its own keys from it.</param>
/// <param name="Priced">Whether the model is priced per token (<c>Price</c>) rather than sharing a device's time.</param>
public sealed record ModelBackendSettings(string Model, IConfiguration Section, bool Priced)
{
    /// <summary>Whether the model's device is a GPU (a backend that cannot use one must refuse it, or its CPU time is billed at the GPU's rate).</summary>
    public bool OnGpu { get; init; }

    /// <summary>The backend's own options, bound from the model's section (defaults where a key is not given).</summary>
    public T Bind<T>()
        where T : class, new() => Section.Get<T>() ?? new T();
}
