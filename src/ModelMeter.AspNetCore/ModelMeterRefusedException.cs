using ModelMeter.AspNetCore.Generation;

namespace ModelMeter.AspNetCore;

/// <summary>ModelMeter refused to meter (and so to serve) a request: answer with <see cref="StatusCode"/> and the message.</summary>
public sealed class ModelMeterRefusedException : Exception
{
    internal ModelMeterRefusedException(GenerationError error)
        : base(error.Message)
    {
        Error = error;
    }

    /// <summary>Why, with the field, budget and retry time where they apply.</summary>
    public GenerationError Error { get; }

    /// <summary>The HTTP status to answer with (401, 404, 429, 503).</summary>
    public int StatusCode => Error.StatusCode;

    /// <summary>The problem+json answer to return.</summary>
    public IResult ToResult(HttpContext http) => Http.Problems.From(http, Error);
}
