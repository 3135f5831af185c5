namespace ModelMeter.AspNetCore.Configuration;

/// <summary>A served model. Which keys apply depends on <see cref="Backend"/>.</summary>
public sealed class ModelOptions
{
    /// <summary>The backend: <c>Onnx</c> (run here), <c>OpenAI</c> (forward to an OpenAI-compatible server) or <c>External</c> (the application's own endpoint, metered with a scope). Default <c>Onnx</c>.</summary>
    public string Backend { get; set; } = "Onnx";

    /// <summary>ONNX: the export directory (model.onnx, vocab.json, merges.txt), relative to the content root. Demo models are written here when it is missing.</summary>
    public string? Path { get; set; }

    /// <summary>The device whose time the model shares (a key of <c>Devices</c>). Give this or <see cref="Price"/>, not both.</summary>
    public string? Device { get; set; }

    /// <summary>For a paid API: the price per million tokens; the cost is tokens × price and no device is used. Give this or <see cref="Device"/>.</summary>
    public TokenPriceOptions? Price { get; set; }

    /// <summary>Requests computed at once. Default: <see cref="MaxBatch"/> for ONNX (1 for a model without cache), 64 for OpenAI upstreams (which batch), 1024 for External.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Requests allowed to wait for a slot; beyond that the answer is 503 with Retry-After. Default 32.</summary>
    public int MaxQueue { get; set; } = 32;

    /// <summary>What an API would charge for this model's tokens, to compare self-hosting with; optional.</summary>
    public TokenPriceOptions? ReferencePrice { get; set; }

    /// <summary>
    /// ONNX: the most requests decoded together in one forward pass (continuous batching). Default 8 for models with a
    /// key/value cache (models without one are not batched); 1 decodes one request at a time. The model then computes
    /// that many requests at once unless <see cref="MaxConcurrency"/> says otherwise.
    /// </summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>
    /// ONNX, batched: the most tokens of key/value cache the requests decoded together may hold, each counting its prompt
    /// plus its token limit; requests beyond it wait in the queue, uncharged. Default: what fits in 1 GiB of cache for
    /// this model, and never less than one full context (a request that large runs alone).
    /// </summary>
    public long? MaxBatchTokens { get; set; }

    /// <summary>ONNX Runtime threads per step; 0 lets it choose. Default 0.</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>OpenAI: the upstream's base URL, up to and including <c>/v1</c> (e.g. <c>http://vllm:8000/v1</c>).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>OpenAI: the model name the upstream knows; default the model's own name.</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>OpenAI: the name of an environment variable holding the upstream's API key (sent as a bearer token; never logged).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>OpenAI: seconds the whole request may take, stream included. Default 300.</summary>
    public double TimeoutSeconds { get; set; } = 300;

    /// <summary>OpenAI: seconds to open a connection to the upstream. Default 5.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>OpenAI: retries of a request that failed before any of its answer arrived (connection refused, 5xx, 429). Default 2.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>OpenAI: a tiktoken model name (<c>gpt2</c>) whose tokenizer counts tokens when the upstream reports no usage; optional.</summary>
    public string? Tokenizer { get; set; }

    /// <summary>OpenAI: the longest line of an upstream's event stream, bytes; a longer one breaks the answer off (502). Default 1 MiB.</summary>
    public int MaxLineBytes { get; set; } = 1 << 20;

    /// <summary>OpenAI: the most bytes of one upstream answer (whole or streamed); beyond it the answer is broken off (502). Default 32 MiB.</summary>
    public long MaxAnswerBytes { get; set; } = 32L << 20;

    /// <summary>OpenAI: the most bytes of an upstream's error body read for its message; the rest is not read. Default 64 KiB.</summary>
    public int MaxErrorBytes { get; set; } = 64 << 10;

    /// <summary>OpenAI: the upstream model's context window in tokens, checked before forwarding when <see cref="Tokenizer"/> is set; optional.</summary>
    public int? ContextLength { get; set; }
}

/// <summary>A price per million tokens, US dollars.</summary>
public sealed class TokenPriceOptions
{
    /// <summary>US dollars per million input (prompt) tokens.</summary>
    public double InputPerMillion { get; set; }

    /// <summary>US dollars per million output (generated) tokens.</summary>
    public double OutputPerMillion { get; set; }
}
