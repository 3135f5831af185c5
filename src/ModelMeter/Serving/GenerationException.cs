namespace ModelMeter.Serving;

/// <summary>A backend failure to pass on to the client, with its kind and (for a refusing upstream) its status.</summary>
public sealed class GenerationException : Exception
{
    /// <summary>Creates the failure.</summary>
    /// <param name="failure">What went wrong.</param>
    /// <param name="message">A message for the client; never contains secrets.</param>
    /// <param name="upstreamStatus">The upstream's HTTP status, for <see cref="GenerationFailure.UpstreamRejected"/>.</param>
    /// <param name="inner">The cause.</param>
    public GenerationException(GenerationFailure failure, string message, int? upstreamStatus = null, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
        UpstreamStatus = upstreamStatus;
    }

    /// <summary>What went wrong.</summary>
    public GenerationFailure Failure { get; }

    /// <summary>The upstream's HTTP status, when it answered with an error.</summary>
    public int? UpstreamStatus { get; }
}
