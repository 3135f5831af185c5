using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>Sees each chunk as the backend makes it (a stream writes it to the client).</summary>
public interface IGenerationObserver
{
    /// <summary>A chunk was made. Throwing stops the generation; the time used is still charged.</summary>
    ValueTask OnChunkAsync(GenerationContext context, GenerationChunk chunk, CancellationToken cancellationToken);
}
