using System.Collections.Concurrent;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>The models loaded so far, and those that failed to load; ready once every configured model is loaded.</summary>
internal sealed class ModelCatalog : IDisposable
{
    private readonly ConcurrentDictionary<string, ServedModel> _loaded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _failed = new(StringComparer.Ordinal);
    private volatile bool _ready;

    public bool IsReady => _ready;

    public bool TryGet(string name, out ServedModel model) => _loaded.TryGetValue(name, out model!);

    public void Add(ServedModel model) => _loaded[model.Name] = model;

    /// <summary><paramref name="name"/> could not be loaded (the log says why): it stays unavailable until a restart.</summary>
    public void MarkFailed(string name) => _failed[name] = true;

    /// <summary>Whether <paramref name="name"/> could not be loaded.</summary>
    public bool HasFailed(string name) => _failed.ContainsKey(name);

    /// <summary>The models that could not be loaded, by name.</summary>
    public IReadOnlyList<string> Failed => [.. _failed.Keys.Order(StringComparer.Ordinal)];

    public void MarkReady() => _ready = true;

    public void Dispose()
    {
        foreach (var model in _loaded.Values)
        {
            model.Backend?.Dispose();
        }
    }
}
