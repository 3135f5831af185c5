using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.ML.Tokenizers;
using ModelMeter.Serving;
using Polly;

namespace ModelMeter.AspNetCore.Gateway;

/// <summary>
/// <c>"Backend": "OpenAI"</c>: forwards to an OpenAI-compatible server (vLLM, TGI, Ollama, llama.cpp, a paid API).
/// Each model gets its own connection pool, with the connect timeout, a whole-request timeout and retries before
/// the first byte of an answer (Polly through Microsoft.Extensions.Http.Resilience).
/// </summary>
internal sealed class OpenAiGatewayFactory(TimeProvider time) : IModelBackendFactory
{
    public const string BackendName = "OpenAI";

    public string Name => BackendName;

    public int DefaultMaxConcurrency => 64;

    public IEnumerable<string> Validate(ModelBackendSettings model)
    {
        var options = model.Bind<OpenAiGatewayOptions>();
        if (string.IsNullOrWhiteSpace(options.BaseUrl))
        {
            yield return "BaseUrl: an OpenAI backend needs the upstream's base URL, e.g. http://127.0.0.1:8001/v1.";
        }
        else if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            yield return $"BaseUrl: '{options.BaseUrl}' is not an http(s) URL.";
        }

        if (options.ApiKeyEnv is { Length: > 0 } variable && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            yield return $"ApiKeyEnv: the environment variable {variable} is not set.";
        }

        if (!(options.TimeoutSeconds > 0) || options.TimeoutSeconds > 86_400)
        {
            yield return $"TimeoutSeconds: {options.TimeoutSeconds} must be above 0 and at most 86400.";
        }

        if (!(options.ConnectTimeoutSeconds > 0) || options.ConnectTimeoutSeconds > 3600)
        {
            yield return $"ConnectTimeoutSeconds: {options.ConnectTimeoutSeconds} must be above 0 and at most 3600.";
        }

        if (options.Retries is < 0 or > 10)
        {
            yield return $"Retries: {options.Retries} is out of range 0..10.";
        }

        if (options.Tokenizer is { Length: > 0 } name && LoadTokenizer(name) is null)
        {
            yield return $"Tokenizer: '{name}' is not a tiktoken model name known here (gpt2).";
        }

        if (options.MaxLineBytes is < 1024 or > 1 << 30)
        {
            yield return $"MaxLineBytes: {options.MaxLineBytes} is out of range 1024..1073741824.";
        }

        if (options.MaxAnswerBytes < options.MaxLineBytes || options.MaxAnswerBytes > 1L << 34)
        {
            yield return $"MaxAnswerBytes: {options.MaxAnswerBytes} must be at least MaxLineBytes ({options.MaxLineBytes}) and at most 17179869184.";
        }

        if (options.MaxErrorBytes is < 256 or > 1 << 24)
        {
            yield return $"MaxErrorBytes: {options.MaxErrorBytes} is out of range 256..16777216.";
        }

        if (options.ContextLength is < 1)
        {
            yield return $"ContextLength: {options.ContextLength} must be at least 1.";
        }
    }

    public Task<IModelBackend?> CreateAsync(ModelBackendSettings settings, CancellationToken cancellationToken)
    {
        var (model, options) = (settings.Model, settings.Bind<OpenAiGatewayOptions>());
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(Math.Min(options.ConnectTimeoutSeconds, options.TimeoutSeconds)),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // An upstream's sizes are input: no decompression (a small gzip body could be a huge answer) and no redirects
            // (a 307 would send the client's body, and our key, to another host).
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false,
        };
        var client = new HttpClient(new ResilienceHandler(Pipeline(options)) { InnerHandler = sockets })
        {
            BaseAddress = new Uri(options.BaseUrl!.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // the backend's own deadline covers the whole request, stream included
        };
        var key = options.ApiKeyEnv is { Length: > 0 } variable ? Environment.GetEnvironmentVariable(variable) : null;
        if (!string.IsNullOrEmpty(key))
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        var upstream = new Upstream(client, options.UpstreamModel ?? model, TimeSpan.FromSeconds(options.TimeoutSeconds), time)
        {
            ApiKey = key,
            Limits = new UpstreamLimits(options.MaxLineBytes, options.MaxAnswerBytes, options.MaxErrorBytes),
        };
        IModelBackend backend = options.Tokenizer is { Length: > 0 } name
            ? new CountingGatewayBackend(upstream, LoadTokenizer(name)!, options.ContextLength)
            : new OpenAiGatewayBackend(upstream);
        return Task.FromResult<IModelBackend?>(backend);
    }

    /// <summary>Outer: the whole-request timeout (until the answer's headers); inner: retries of transient failures (connection errors, 408, 429, 5xx).</summary>
    private ResiliencePipeline<HttpResponseMessage> Pipeline(OpenAiGatewayOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds));
        if (options.Retries > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.Retries,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }

        return builder.Build();
    }

    private static Tokenizer? LoadTokenizer(string name)
    {
        try
        {
            return TiktokenTokenizer.CreateForModel(name);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or InvalidOperationException or FileNotFoundException)
        {
            return null;
        }
    }
}
