using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ModelMeter.Onnx.Tokenization;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

/// <summary>
/// A causal language model from a Hugging Face Optimum <c>text-generation-with-past</c> export directory,
/// run with ONNX Runtime on the CPU. With cache inputs, each new token costs one step over one token;
/// without them the whole sequence is run again per token.
/// </summary>
public sealed partial class OnnxCausalLm : IDisposable
{
    private readonly InferenceSession _session;
    private readonly Gpt2Tokenizer _tokenizer;
    private readonly string[] _pastNames;
    private readonly string[] _presentNames;
    private readonly bool _hasPositionIds;
    private readonly long _heads;
    private readonly long _headWidth;
    private GatherBuffers? _gatherBuffers; // null while a step uses them

    private OnnxCausalLm(InferenceSession session, Gpt2Tokenizer tokenizer, int contextLength, long modelBytes)
    {
        ModelBytes = modelBytes;
        _session = session;
        _tokenizer = tokenizer;
        ContextLength = contextLength;
        var inputs = session.InputMetadata;
        _hasPositionIds = inputs.ContainsKey("position_ids");
        var layers = Enumerable.Range(0, int.MaxValue).TakeWhile(i => inputs.ContainsKey($"past_key_values.{i}.key")).Count();
        _pastNames = Enumerable.Range(0, layers).SelectMany(i => new[] { $"past_key_values.{i}.key", $"past_key_values.{i}.value" }).ToArray();
        _presentNames = Enumerable.Range(0, layers).SelectMany(i => new[] { $"present.{i}.key", $"present.{i}.value" }).ToArray();
        if (layers > 0)
        {
            var dims = inputs["past_key_values.0.key"].Dimensions;
            _heads = dims[1];
            _headWidth = dims[3];
        }

        _gatherBuffers = new GatherBuffers(_pastNames.Length);
        AppendsPresents = layers > 0 && session.ModelMetadata.CustomMetadataMap.TryGetValue(Building.Gpt2GraphWriter.PresentsKey, out var presents)
            && presents == Building.Gpt2GraphWriter.NewPositions;
    }

    /// <summary>
    /// Whether the model's presents hold the new positions of a step only (the demo models: the cache is kept with room to
    /// grow and each step's new positions are appended to it), not the whole cache as an Optimum export's do (each step's
    /// presents are the next step's past).
    /// </summary>
    public bool AppendsPresents { get; }

    /// <summary>The size of <c>model.onnx</c>, bytes: about what one step reads of weights.</summary>
    public long ModelBytes { get; }

    /// <summary>The most tokens (prompt plus generated) one request may hold.</summary>
    public int ContextLength { get; }

    /// <summary>The end-of-text token id.</summary>
    public int EndOfTextId => _tokenizer.EndOfTextId;

    /// <summary>Bytes of key/value cache one token takes in one request (every layer's key and value, float32); 0 without a cache.</summary>
    public long CacheBytesPerToken => _pastNames.Length * _heads * _headWidth * sizeof(float);

    /// <summary>The native memory the appending caches live in, kept when freed for the next cache that fits.</summary>
    internal CacheMemory CacheMemory { get; } = new();

    /// <summary>Whether the model takes a key/value cache (one step per new token).</summary>
    public bool UsesCache => _pastNames.Length > 0;

    /// <summary>
    /// Threads per step unless configured: one per processor the process may use. ONNX Runtime's own choice (0, documented
    /// as one per physical core) started no thread besides the caller's on the 2-core test machine, so every model computed on
    /// one core while the other idled: demo-large at MaxBatch 16 gave 306 tokens/s for 16 clients with it and 442 with two
    /// threads, one request at a time 69 and 78 (docs/benchmarks.md, sixth session).
    /// </summary>
    public static int DefaultIntraOpThreads => Environment.ProcessorCount;

    /// <summary>Loads <c>model.onnx</c>, <c>vocab.json</c> and <c>merges.txt</c> (and <c>config.json</c> for the context length) from <paramref name="directory"/>.</summary>
    /// <param name="directory">The export directory.</param>
    /// <param name="intraOpThreads">Threads per step; 0 (the default) uses one per processor the process may use (<see cref="DefaultIntraOpThreads"/>).</param>
    /// <param name="allowSpinning">Whether ONNX Runtime's pool threads spin while they wait for work (see <see cref="Hosting.OnnxModelOptions.AllowSpinning"/>).</param>
    /// <param name="sharesDevice">
    /// Whether other models take turns on the model's device: then the pool threads stop spinning when a step ends
    /// (ONNX Runtime's <c>session.force_spinning_stop</c>), so that the next model's turn has the cores. Alone, they keep
    /// spinning into the next step: one client got 3-5 % fewer tokens/s with the stop on the Zen 3 VM.
    /// </param>
    public static OnnxCausalLm Load(string directory, int intraOpThreads = 0, bool allowSpinning = true, bool sharesDevice = false)
    {
        var modelPath = Path.Combine(directory, "model.onnx");
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"No model.onnx in {directory}.", modelPath);
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = intraOpThreads > 0 ? intraOpThreads : DefaultIntraOpThreads };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", allowSpinning ? "1" : "0");
        if (sharesDevice)
        {
            options.AddSessionConfigEntry("session.force_spinning_stop", "1");
        }
        return new OnnxCausalLm(new InferenceSession(modelPath, options), Gpt2Tokenizer.Load(directory), ReadContextLength(directory), new FileInfo(modelPath).Length);
    }

    /// <summary>The token ids of <paramref name="text"/>.</summary>
    public IReadOnlyList<int> Tokenize(string text) => _tokenizer.Encode(text);

    /// <summary>The text of <paramref name="tokenIds"/>; bytes that do not yet form a whole character come out as U+FFFD.</summary>
    public string Decode(IReadOnlyList<int> tokenIds) => _tokenizer.Decode(tokenIds);

    /// <summary>
    /// Generates up to <see cref="GenerationRequest.MaxTokens"/> tokens after <paramref name="promptIds"/>,
    /// reporting each to <paramref name="sink"/> as it is made. Throws <see cref="OperationCanceledException"/>
    /// when <paramref name="cancellationToken"/> fires; what was reported to the sink until then stands.
    /// </summary>
    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationRequest request, ITokenSink sink, CancellationToken cancellationToken)
    {
        var generated = new List<int>(request.MaxTokens);
        foreach (var token in GenerateTokens(promptIds, request, cancellationToken))
        {
            generated.Add(token);
            sink.OnToken(token);
        }

        return new GenerationResult(_tokenizer.Decode(generated), generated.Count, generated.Count < request.MaxTokens ? "stop" : "length");
    }

    /// <summary>
    /// The generated tokens one by one, each computed when asked for (one model step each, on the caller's thread).
    /// Ends early at end-of-text (which is not yielded). Greedy unless a temperature is given; top-p defaults to 1.
    /// </summary>
    public IEnumerable<int> GenerateTokens(IReadOnlyList<int> promptIds, GenerationRequest request, CancellationToken cancellationToken)
    {
        // GPT-2 has no beginning-of-text token; an empty prompt starts from end-of-text, as Hugging Face does.
        var sequence = new List<long>(promptIds.Count + request.MaxTokens);
        sequence.AddRange(promptIds.Count > 0 ? promptIds.Select(id => (long)id) : [_tokenizer.EndOfTextId]);
        var sampler = new TokenSampler(request.Temperature ?? 0, request.TopP ?? 1, request.Seed);

        using var runOptions = new RunOptions();
        using var cancel = cancellationToken.Register(() => runOptions.Terminate = true);
        using var cache = new KeyValueCache(this);
        for (var count = 0; count < request.MaxTokens; count++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var next = Step(sequence, cache, sampler, runOptions, cancellationToken);
            if (next == _tokenizer.EndOfTextId)
            {
                yield break;
            }

            sequence.Add(next);
            yield return next;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _session.Dispose();
        Interlocked.Exchange(ref _gatherBuffers, null)?.Dispose();
        CacheMemory.Dispose();
    }

    private static int ReadContextLength(string directory)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (File.Exists(configPath))
        {
            using var config = JsonDocument.Parse(File.ReadAllText(configPath));
            foreach (var key in new[] { "n_positions", "max_position_embeddings" })
            {
                if (config.RootElement.TryGetProperty(key, out var value) && value.TryGetInt32(out var length))
                {
                    return length;
                }
            }
        }

        return 1024;
    }
}
