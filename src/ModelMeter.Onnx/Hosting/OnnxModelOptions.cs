namespace ModelMeter.Onnx.Hosting;

/// <summary>The keys of a model with <c>"Backend": "Onnx"</c>, beside those every model has.</summary>
public sealed class OnnxModelOptions
{
    /// <summary>The export directory (model.onnx, vocab.json, merges.txt), relative to the content root. Demo models are written here when it is missing.</summary>
    public string? Path { get; set; }

    /// <summary>
    /// The most requests decoded together in one forward pass (continuous batching). Default 16 for models with a
    /// key/value cache (models without one are not batched); 1 decodes one request at a time. The model then computes
    /// that many requests at once unless <c>MaxConcurrency</c> says otherwise. Measured (docs/benchmarks.md, demo-large, 2
    /// cores, a thread per core, mixed prompts, one run, seventh session): at 16 clients MaxBatch 1 / 4 / 8 / 16 / 32 gave
    /// 130 / 292 / 405 / 558 / 559 tokens/s, at 32 clients 16 gave 511 and 32 507; one client 92-114, the most at 16.
    /// </summary>
    public int MaxBatch { get; set; } = 16;

    /// <summary>
    /// Batched: the most tokens of key/value cache the requests decoded together may hold as one padded batch: each
    /// counts its prompt plus its token limit, and the batch is as long as its longest request (rows × the longest), as the
    /// caches of a step are padded to the longest row. Requests beyond it wait in the queue, uncharged. Default: what fits in
    /// 1 GiB of cache for this model, and never less than one full context (a request that large runs alone). A model whose
    /// presents hold the new positions only (the demo models) keeps room after them to append to, up to a quarter more
    /// (at least 32 positions), which this budget does not count.
    /// </summary>
    public long? MaxBatchTokens { get; set; }

    /// <summary>
    /// Batched: the most prompt tokens computed in one turn of the batch loop while other requests are decoding, so that a
    /// long prompt joining does not stall their streams (it is computed in chunks between their steps); with more than 6
    /// requests decoding a turn computes 4 per decoding request instead, as their step takes longer. Default 24: with 6 streams
    /// of demo-large and a 900-token prompt joining, each stream's largest gap between tokens was 2.1-3.2x its median on
    /// six fresh servers (three measured on their second run, three on their first), 5.1x with 32, 38.8x with the prompt
    /// computed whole; the prompt was answered in 1.3-1.5 s (bench/all.sh; docs/benchmarks.md, seventh session). A turn
    /// with a chunk reads the weights twice (the chunk's pass and the decode pass), so it takes 2-3x a decode turn whatever
    /// the chunk's size: 12 tokens a turn took 17 ms against 20 for 24, and the prompt twice as long.
    /// </summary>
    public int PrefillChunkTokens { get; set; } = Generation.BatchScheduler.DefaultPrefillChunkTokens;

    /// <summary>
    /// Batched: when two or more requests finished in the same step, the next turn waits up to this many milliseconds for
    /// as many requests to arrive (as room allows; requests still decoding wait with it), so that clients which send again
    /// at once join together and their prompts are computed together. Default 10 (16 clients over HTTP came back within
    /// 1-2 ms, so the wait usually ends sooner); 0 never waits.
    /// </summary>
    public int JoinWindowMs { get; set; } = (int)Generation.BatchScheduler.DefaultJoinWindow.TotalMilliseconds;

    /// <summary>
    /// The prompt length the model computes once at load, before the server reports ready: in chunks of
    /// <see cref="PrefillChunkTokens"/> beside a decoding request, then both decoding (<see cref="Generation.OnnxCausalLm.WarmUp"/>),
    /// so that ONNX Runtime's memory for long prompts is taken and the code compiled before a stream waits on them. At most
    /// the context less 8; 0 skips it. Default 1024: demo-large took 2.2 s more to start. Its first 900-token prompt had
    /// taken 2.0 s and 38,000 page faults against 1.3 s and 6,000 later, and streams beside it had largest gaps over 4x their
    /// median in most such first runs (4.0-6.6x); warmed up, its first run took 1.7-1.8 s and 3,500 page faults (3.4-4.0x),
    /// and 1.2-1.3 s (1.8-2.5x) once the server also stopped recompiling methods beside the model (TieredCompilation false).
    /// The memory its cache grows into is the warm-up's, kept for reuse: the first runs of 24 fresh servers were 2.0-3.5x,
    /// where 12 of 16 had been over 4x while the warm-up's blocks were lent only to caches of at least half their size.
    /// </summary>
    public int WarmUpTokens { get; set; } = 1024;

    /// <summary>ONNX Runtime threads per step; 0 (the default): one per processor the process may use (<see cref="Generation.OnnxCausalLm.DefaultIntraOpThreads"/>).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's pool threads spin while they wait for the next operator's work within a step instead of
    /// sleeping. Default true, ONNX Runtime's own default. When other models share the device they stop spinning
    /// when a step ends (ONNX Runtime's <c>session.force_spinning_stop</c>), so the next model's turn has the cores; alone,
    /// they spin on into the next step. On the Zen 5 2-core VM
    /// spinning gave 8 % more batched throughput (demo-large, 16 clients: 485 against 446 tokens/s); on the Zen 3 VM of the
    /// ninth session it bought nothing (346.3 against 363.2 tokens/s without it). The stall check was no better without it
    /// (a 900-token prompt joining 6 streams, without spinning: largest gap 2.3-4.5x the median with chunks of 24, 3.2-4.9x
    /// with 32; 2.7-2.9x either way on the Zen 3 VM; docs/benchmarks.md, sixth and ninth sessions).
    /// </summary>
    public bool AllowSpinning { get; set; } = true;
}
