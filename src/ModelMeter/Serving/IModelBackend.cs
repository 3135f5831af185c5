namespace ModelMeter.Serving;

/// <summary>
/// A text-generation model that ModelMeter serves and meters: a local runtime or a remote server.
/// Implementations must allow concurrent calls. A backend that can count tokens also implements
/// <see cref="ITokenCounter"/>, so requests are checked against its context window before they run.
/// </summary>
public interface IModelBackend : IDisposable
{
    /// <summary>
    /// Generates after <paramref name="prompt"/>, streaming chunks as text is made. The last chunk carries the
    /// finish reason, and <see cref="GenerationChunk.Usage"/> where the backend knows the counts. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires, and
    /// <see cref="GenerationException"/> for failures a client should hear about (an upstream that refused, timed out, ...).
    /// </summary>
    IAsyncEnumerable<GenerationChunk> GenerateAsync(Prompt prompt, GenerationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the backend forwards the client's request whole (<see cref="GenerationRequest.ClientFields"/>) to a server
    /// that honours what it asks for (tools, structured output, several choices) and passes the answer on as it came
    /// (<see cref="GenerationChunk.Relayed"/>). False for backends that generate here, which refuse such requests.
    /// </summary>
    bool ForwardsRequests => false;
}
