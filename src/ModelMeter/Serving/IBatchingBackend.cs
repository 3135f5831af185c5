namespace ModelMeter.Serving;

/// <summary>A backend's optional capability: it decodes several requests together, so that many may be admitted at once.</summary>
public interface IBatchingBackend
{
    /// <summary>The most requests decoded together (1 when it does not batch).</summary>
    int MaxBatch { get; }

    /// <summary>The most tokens of key/value cache the requests decoded together may hold as one padded batch (<see cref="PaddedBatch"/>).</summary>
    long MaxBatchTokens { get; }
}

/// <summary>
/// A batch's key/value cache as a step holds it: every row padded to the longest, each counting its prompt plus its token
/// limit, so rows × the longest. The model's admission gate and its batch scheduler both admit by it.
/// </summary>
public static class PaddedBatch
{
    /// <summary>Whether <paramref name="rows"/> rows padded to <paramref name="longest"/> tokens stay within <paramref name="maxTokens"/> (no overflow).</summary>
    public static bool Fits(int rows, long longest, long maxTokens) => longest <= maxTokens / Math.Max(rows, 1);
}
