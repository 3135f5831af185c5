using ModelMeter.Serving;

namespace ModelMeter.Server.Models;

/// <summary>A loaded model and its admission gate.</summary>
internal sealed record ServedModel(string Name, IModelBackend Backend, ModelGate Gate);
