using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary><c>"Backend": "External"</c>: a model the application serves with its own endpoint and meters with <c>ModelMeterScope</c>.</summary>
internal sealed class ExternalBackendFactory : IModelBackendFactory
{
    public const string BackendName = "External";

    public string Name => BackendName;

    public int DefaultMaxConcurrency => 1024;

    public IEnumerable<string> Validate(ModelBackendSettings model) => [];

    public Task<IModelBackend?> CreateAsync(ModelBackendSettings model, CancellationToken cancellationToken) => Task.FromResult<IModelBackend?>(null);
}
