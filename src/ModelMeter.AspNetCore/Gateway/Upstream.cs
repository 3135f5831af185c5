namespace ModelMeter.AspNetCore.Gateway;

/// <summary>One configured upstream: its client (with resilience), the model name it knows, the whole-request deadline and size limits.</summary>
internal sealed record Upstream(HttpClient Client, string Model, TimeSpan Timeout, TimeProvider Time)
{
    /// <summary>The configured API key, scrubbed from any text the upstream sends before it reaches a client or a log.</summary>
    public string? ApiKey { get; init; }

    public UpstreamLimits Limits { get; init; } = new(1 << 20, 32L << 20, 64 << 10);

    /// <summary><paramref name="text"/> with the configured key replaced, whatever the upstream echoed.</summary>
    public string Scrub(string text) =>
        ApiKey is { Length: > 0 } key ? text.Replace(key, "[redacted]", StringComparison.Ordinal) : text;
}
