using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generation;

/// <summary>
/// One generation as a route received it, before any check: who is asking, which model, and the fields as the
/// client sent them (null when absent). The pipeline checks all of it; the route only reads its body.
/// </summary>
/// <param name="Model">The model asked for.</param>
/// <param name="Endpoint">The endpoint label (<c>generate</c>, <c>completions</c>, <c>chat_completions</c>, or a library endpoint).</param>
/// <param name="Caller">The credentials and headers that say who pays.</param>
public sealed record GenerationCall(string Model, string Endpoint, Caller Caller)
{
    /// <summary>The prompt, or null when the client gave none.</summary>
    public Prompt? Prompt { get; init; }

    /// <summary>The field to name when the prompt is wrong (<c>prompt</c>, <c>messages</c>).</summary>
    public string PromptField { get; init; } = "prompt";

    /// <summary>Tokens to generate at most; null for the configured default.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>The field to name when the token limit is wrong (<c>max_tokens</c>, <c>max_completion_tokens</c>).</summary>
    public string MaxTokensField { get; init; } = "max_tokens";

    /// <summary>Sampling temperature, 0 to 2; null for <see cref="DefaultTemperature"/>.</summary>
    public double? Temperature { get; init; }

    /// <summary>The temperature when the client gives none: 0 on <c>/v1/generate</c>, 1 (OpenAI's default) on the OpenAI routes.</summary>
    public double DefaultTemperature { get; init; }

    /// <summary>Nucleus sampling mass, above 0 and at most 1.</summary>
    public double? TopP { get; init; }

    /// <summary>Sampling seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Stop strings (at most 4, as in OpenAI's API).</summary>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>The end user from the body (<c>user</c>); the <c>X-User</c> header is the fallback.</summary>
    public string? User { get; init; }

    /// <summary>The client wants a stream.</summary>
    public bool Stream { get; init; }

    /// <summary>The API the call came through; embeddings and responses are only forwarded (<see cref="UnsupportedHere"/> refuses them elsewhere).</summary>
    public RequestApi Api { get; init; }

    /// <summary>The body's top-level fields as sent, for a backend that forwards the request whole (<see cref="GenerationRequest.ClientFields"/>).</summary>
    public IReadOnlyDictionary<string, System.Text.Json.JsonElement>? ClientFields { get; init; }

    /// <summary>
    /// What a backend that generates here cannot honour in the body (tools, structured output, log probabilities,
    /// several choices, messages without text): refused unless the model's backend forwards requests (<see cref="IModelBackend.ForwardsRequests"/>).
    /// </summary>
    public GenerationError? UnsupportedHere { get; init; }

    /// <summary>A problem the route found in the body (malformed, too large): refused and counted once the model is known.</summary>
    public GenerationError? BodyError { get; init; }
}

/// <summary>Who is asking: the raw credentials and headers, resolved to a tenant by the pipeline.</summary>
/// <param name="Authorization">The <c>Authorization</c> header.</param>
/// <param name="Tenant">The <c>X-Tenant</c> header (used when auth is off).</param>
/// <param name="User">The <c>X-User</c> header.</param>
public sealed record Caller(string? Authorization, string? Tenant, string? User)
{
    /// <summary>
    /// The name of a who-pays header (<c>X-User</c>, else <c>X-Tenant</c>) the request gives more than once, or null: ASP.NET
    /// Core joins repeated values with commas, so <c>X-User: a</c> twice would be read as the user <c>a,a</c>.
    /// </summary>
    public string? Repeated { get; init; }

    /// <summary>The caller of <paramref name="headers"/>' request.</summary>
    public static Caller Of(Microsoft.AspNetCore.Http.IHeaderDictionary headers) =>
        new(headers.Authorization.ToString(), headers["X-Tenant"].ToString(), headers["X-User"].ToString())
        {
            Repeated = headers["X-User"].Count > 1 ? "X-User" : headers["X-Tenant"].Count > 1 ? "X-Tenant" : null,
        };
}
