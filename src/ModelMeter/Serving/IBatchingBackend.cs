namespace ModelMeter.Serving;

/// <summary>A backend's optional capability: it decodes several requests together, so that many may be admitted at once.</summary>
public interface IBatchingBackend
{
    /// <summary>The most requests decoded together (1 when it does not batch).</summary>
    int MaxBatch { get; }

    /// <summary>The most tokens of key/value cache the requests decoded together may hold (each counts its prompt plus its token limit).</summary>
    long MaxBatchTokens { get; }
}
