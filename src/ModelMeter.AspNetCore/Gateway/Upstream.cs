namespace ModelMeter.AspNetCore.Gateway;

/// <summary>One configured upstream: its client (with resilience), the model name it knows, and the whole-request deadline.</summary>
internal sealed record Upstream(HttpClient Client, string Model, TimeSpan Timeout, TimeProvider Time);
