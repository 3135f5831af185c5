namespace ModelMeter.Serving;

/// <summary>A backend's optional capability: it decodes several requests together, so that many may be admitted at once.</summary>
public interface IBatchingBackend
{
    /// <summary>The most requests decoded together (1 when it does not batch).</summary>
    int MaxBatch { get; }
}
