namespace ModelMeter.AspNetCore.Gateway;

/// <summary>The keys of a model with <c>"Backend": "OpenAI"</c>, beside those every model has.</summary>
public sealed class OpenAiGatewayOptions
{
    /// <summary>The upstream's base URL, up to and including <c>/v1</c> (e.g. <c>http://vllm:8000/v1</c>).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The model name the upstream knows; default the model's own name.</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>The name of an environment variable holding the upstream's API key (sent as a bearer token; never logged).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Seconds the whole request may take, stream included. Default 300.</summary>
    public double TimeoutSeconds { get; set; } = 300;

    /// <summary>Seconds to open a connection to the upstream. Default 5.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Retries of a request that failed before any of its answer arrived (connection refused, 5xx, 429). Default 2.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>A tiktoken model name (<c>gpt2</c>) whose tokenizer counts tokens when the upstream reports no usage; optional.</summary>
    public string? Tokenizer { get; set; }

    /// <summary>The longest line of an upstream's event stream, bytes; a longer one breaks the answer off (502). Default 1 MiB.</summary>
    public int MaxLineBytes { get; set; } = 1 << 20;

    /// <summary>The most bytes of one upstream answer (whole or streamed); beyond it the answer is broken off (502). Default 32 MiB.</summary>
    public long MaxAnswerBytes { get; set; } = 32L << 20;

    /// <summary>The most bytes of an upstream's error body read for its message; the rest is not read. Default 64 KiB.</summary>
    public int MaxErrorBytes { get; set; } = 64 << 10;

    /// <summary>The upstream model's context window in tokens, checked before forwarding when <see cref="Tokenizer"/> is set; optional.</summary>
    public int? ContextLength { get; set; }
}
