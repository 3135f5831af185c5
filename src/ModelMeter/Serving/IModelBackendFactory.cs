namespace ModelMeter.Serving;

/// <summary>
/// Makes the backends of one kind, chosen by a model's <c>Backend</c> value (<c>Onnx</c>, <c>OpenAI</c>, ...). Each kind
/// owns its options: it binds them from the model's configuration section (<see cref="ModelBackendSettings.Bind{T}"/>),
/// beside the keys every model has (<c>Backend</c>, <c>Device</c> or <c>Price</c>, <c>MaxConcurrency</c>, <c>MaxQueue</c>).
/// Register one as a singleton <see cref="IModelBackendFactory"/> (as <c>services.AddOnnx()</c> does).
/// </summary>
public interface IModelBackendFactory
{
    /// <summary>The <c>Backend</c> value this factory answers to (compared without case).</summary>
    string Name { get; }

    /// <summary>Requests a model of this kind computes at once when its <c>MaxConcurrency</c> is not set.</summary>
    int DefaultMaxConcurrency { get; }

    /// <summary>Checks the model's options; returns each problem as <c>Key: message</c> (the key relative to the model's section).</summary>
    IEnumerable<string> Validate(ModelBackendSettings model);

    /// <summary>Makes the backend (may take long: loading weights). Null means the application serves the model itself and only meters it.</summary>
    Task<IModelBackend?> CreateAsync(ModelBackendSettings model, CancellationToken cancellationToken);
}
