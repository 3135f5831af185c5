using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>A loaded model and its admission gate; <see cref="Backend"/> is null for a model the application serves itself (library mode).</summary>
internal sealed record ServedModel(string Name, IModelBackend? Backend, ModelGate Gate);
