namespace ModelMeter.AspNetCore.Configuration;

/// <summary>
/// A served model: the keys every model has. Each backend binds its own keys from the same section (ONNX:
/// <c>OnnxModelOptions</c> in ModelMeter.Onnx; OpenAI: <c>OpenAiGatewayOptions</c>).
/// </summary>
public sealed class ModelOptions
{
    /// <summary>The backend: <c>Onnx</c> (run here), <c>OpenAI</c> (forward to an OpenAI-compatible server) or <c>External</c> (the application's own endpoint, metered with a scope). Default <c>Onnx</c>.</summary>
    public string Backend { get; set; } = "Onnx";

    /// <summary>The device whose time the model shares (a key of <c>Devices</c>). Give this or <see cref="Price"/>, not both.</summary>
    public string? Device { get; set; }

    /// <summary>For a paid API: the price per million tokens; the cost is tokens × price and no device is used. Give this or <see cref="Device"/>.</summary>
    public TokenPriceOptions? Price { get; set; }

    /// <summary>Requests computed at once. Default: <c>MaxBatch</c> for ONNX (1 for a model without cache), 64 for OpenAI upstreams (which batch), 1024 for External.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Requests allowed to wait for a slot; beyond that the answer is 503 with Retry-After. Default 32.</summary>
    public int MaxQueue { get; set; } = 32;

    /// <summary>
    /// Request fields this server refuses for the model (400 naming the field), for instance <c>["n", "logit_bias"]</c>: a
    /// gateway forwards every field it is sent, and this is how an operator keeps some from the upstream. Empty by default.
    /// </summary>
    public List<string> DeniedFields { get; set; } = [];

    /// <summary>What an API would charge for this model's tokens, to compare self-hosting with; optional.</summary>
    public TokenPriceOptions? ReferencePrice { get; set; }
}

/// <summary>A price per million tokens, US dollars.</summary>
public sealed class TokenPriceOptions
{
    /// <summary>US dollars per million input (prompt) tokens.</summary>
    public double InputPerMillion { get; set; }

    /// <summary>US dollars per million output (generated) tokens; reasoning tokens are output and billed at this price.</summary>
    public double OutputPerMillion { get; set; }

    /// <summary>US dollars per million prompt tokens the provider read from its cache (<c>cached_tokens</c>); unset: <see cref="InputPerMillion"/>.</summary>
    public double? CachedInputPerMillion { get; set; }

    /// <summary>US dollars per million prompt tokens written to the provider's cache, for providers that charge for writes; unset: <see cref="InputPerMillion"/>.</summary>
    public double? CacheWritePerMillion { get; set; }

    /// <summary>The price ModelMeter's meter uses.</summary>
    public Pricing.TokenPrice ToTokenPrice() => new(InputPerMillion, OutputPerMillion, CachedInputPerMillion, CacheWritePerMillion);
}
