using System.Collections.Concurrent;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>The models loaded so far; ready once every configured model is.</summary>
internal sealed class ModelCatalog : IDisposable
{
    private readonly ConcurrentDictionary<string, ServedModel> _loaded = new(StringComparer.Ordinal);
    private volatile bool _ready;

    public bool IsReady => _ready;

    public bool TryGet(string name, out ServedModel model) => _loaded.TryGetValue(name, out model!);

    public void Add(ServedModel model) => _loaded[model.Name] = model;

    public void MarkReady() => _ready = true;

    public void Dispose()
    {
        foreach (var model in _loaded.Values)
        {
            model.Backend?.Dispose();
        }
    }
}
