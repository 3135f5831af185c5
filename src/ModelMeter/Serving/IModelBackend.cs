namespace ModelMeter.Serving;

/// <summary>A text-generation model that ModelMeter serves and meters. Implementations must allow concurrent calls.</summary>
public interface IModelBackend : IDisposable
{
    /// <summary>The most tokens (prompt plus generated) one request may hold.</summary>
    int ContextLength { get; }

    /// <summary>The token ids of <paramref name="text"/>.</summary>
    IReadOnlyList<int> Tokenize(string text);

    /// <summary>The text of <paramref name="tokenIds"/>; bytes that do not yet form a whole character come out as U+FFFD.</summary>
    string Decode(IReadOnlyList<int> tokenIds);

    /// <summary>
    /// Generates up to <see cref="GenerationRequest.MaxTokens"/> tokens after <paramref name="promptIds"/>,
    /// reporting each to <paramref name="sink"/> as it is made. Throws <see cref="OperationCanceledException"/>
    /// when <paramref name="cancellationToken"/> fires; what was reported to the sink until then stands.
    /// </summary>
    GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, ITokenSink sink, CancellationToken cancellationToken);
}
