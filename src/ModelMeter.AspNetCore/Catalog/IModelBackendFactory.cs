using ModelMeter.AspNetCore.Configuration;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Catalog;

/// <summary>
/// Makes the backends of one kind, chosen by a model's <c>Backend</c> value (<c>Onnx</c>, <c>OpenAI</c>, ...).
/// Register one with <c>AddModelMeter(...).AddBackendFactory&lt;T&gt;()</c>.
/// </summary>
public interface IModelBackendFactory
{
    /// <summary>The <c>Backend</c> value this factory answers to (compared without case).</summary>
    string Name { get; }

    /// <summary>Requests a model of this kind computes at once when its <c>MaxConcurrency</c> is not set.</summary>
    int DefaultMaxConcurrency { get; }

    /// <summary>Checks the options of <paramref name="model"/>; returns each problem as <c>Key: message</c> (the key relative to the model's section).</summary>
    IEnumerable<string> Validate(string model, ModelOptions options);

    /// <summary>Makes the backend (may take long: loading weights). Null means the application serves the model itself and only meters it.</summary>
    Task<IModelBackend?> CreateAsync(string model, ModelOptions options, CancellationToken cancellationToken);
}
