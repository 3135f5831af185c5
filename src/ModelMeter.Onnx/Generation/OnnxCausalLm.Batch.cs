using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Generation;

public sealed partial class OnnxCausalLm
{
    /// <summary>
    /// Starts a row for batched decoding: runs its prompt alone (prefill) and picks its first token. The row keeps its own
    /// key/value cache, so rows of any lengths can share <see cref="DecodeStep"/> and join or leave between steps.
    /// Needs a model with a key/value cache.
    /// </summary>
    public DecodeRow StartRow(IReadOnlyList<int> promptIds, GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var row = BeginRow(promptIds, request);
        try
        {
            PrefillChunk(row, int.MaxValue, cancellationToken);
            return row;
        }
        catch
        {
            row.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs, before the first request, what a long prompt joining a decoding request runs: its prompt of
    /// <paramref name="promptTokens"/> tokens (at most the context less a few) in chunks of <paramref name="chunkTokens"/>,
    /// each beside a step of the other row, then steps of both together. ONNX Runtime's memory for those shapes is then
    /// taken and touched, and the code compiled, before a stream waits on them: the first 900-token prompt into a fresh
    /// demo-large server took 2.0 s and 38,000 page faults (0.6 s of system time), later ones 1.3 s and 6,000, and its
    /// streams' largest gaps exceeded 4x their median in most first runs. Without a key/value cache, one short generation.
    /// Returns the prompt tokens computed.
    /// </summary>
    public int WarmUp(int promptTokens, int chunkTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkTokens, 1);
        var length = Math.Clamp(promptTokens, 1, Math.Max(ContextLength - 8, 1));
        var prompt = Enumerable.Range(0, length).Select(i => i % 256).ToList();
        if (!UsesCache)
        {
            _ = GenerateTokens(prompt[..Math.Min(length, 8)], new GenerationRequest(2), default).ToList();
            return Math.Min(length, 8);
        }

        using var decoding = StartRow(prompt[..Math.Min(length, 8)], new GenerationRequest((length / chunkTokens) + 4));
        using var joining = BeginRow(prompt, new GenerationRequest(2));
        while (joining.Prefilling)
        {
            PrefillChunk(joining, chunkTokens);
            DecodeSteps(decoding.Finished ? [] : [decoding]);
        }

        for (var step = 0; step < 2; step++)
        {
            DecodeSteps([.. new[] { joining, decoding }.Where(r => !r.Finished)]);
        }

        return length;
    }

    /// <summary>
    /// A row whose prompt is not computed yet: <see cref="PrefillChunk"/> feeds it a chunk at a time (so that a long prompt
    /// can be interleaved with other rows' decode steps); the last chunk picks its first token. Needs a key/value cache.
    /// </summary>
    public DecodeRow BeginRow(IReadOnlyList<int> promptIds, GenerationRequest request)
    {
        if (!UsesCache)
        {
            throw new InvalidOperationException("Batched decoding needs a model with key/value cache inputs.");
        }

        var sequence = new List<long>(promptIds.Count + request.MaxTokens);
        sequence.AddRange(promptIds.Count > 0 ? promptIds.Select(id => (long)id) : [_tokenizer.EndOfTextId]);
        return new DecodeRow(this, sequence, new TokenSampler(request.Temperature ?? 0, request.TopP ?? 1, request.Seed), request.MaxTokens)
        {
            Prefill = new KeyValueCache(this),
        };
    }

    /// <summary>
    /// Feeds up to <paramref name="maxTokens"/> more of a prefilling row's prompt into its cache; returns the tokens fed.
    /// When the prompt is done the row takes its first token and its own cache, ready for <see cref="DecodeStep"/>.
    /// The same computation as one prefill, cut at token boundaries: the row's tokens are the same (to float rounding).
    /// </summary>
    public int PrefillChunk(DecodeRow row, int maxTokens, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        var cache = row.Prefill ?? throw new InvalidOperationException("The row's prompt is already computed.");
        var upTo = (int)Math.Min(row.PromptLength, (long)cache.Length + maxTokens);
        var fed = upTo - cache.Length;
        using var runOptions = new RunOptions();
        var next = Step(row.Sequence, cache, row.Sampler, runOptions, cancellationToken, upTo);
        if (upTo == row.PromptLength)
        {
            row.Prefill = null;
            using (cache)
            {
                row.Accept(next, cache.Take(), upTo);
            }
        }

        return fed;
    }

    /// <summary>
    /// Computes the whole prompts of rows that have not begun theirs in one pass, left-padded to the longest (the padding
    /// masked out, each row's positions its own): one pass over the weights instead of one per prompt. Each row takes its
    /// first token, and their caches become one shared cache, as after a decode step over the same rows.
    /// </summary>
    public void PrefillTogether(IReadOnlyList<DecodeRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Any(r => r.Prefill is not { Length: 0 }))
        {
            throw new InvalidOperationException("Only rows whose prompts are not begun are prefilled together.");
        }

        if (rows.Count == 1)
        {
            PrefillChunk(rows[0], int.MaxValue, cancellationToken);
            return;
        }

        var (batch, longest) = (rows.Count, rows.Max(r => r.PromptLength));
        var ids = new long[batch * longest];
        var mask = new long[batch * longest];
        var positions = new long[batch * longest];
        Array.Fill(ids, EndOfTextId);
        for (var r = 0; r < batch; r++)
        {
            var (length, pad) = (rows[r].PromptLength, longest - rows[r].PromptLength);
            for (var t = 0; t < length; t++)
            {
                ids[r * longest + pad + t] = rows[r].Sequence[t];
                mask[r * longest + pad + t] = 1;
                positions[r * longest + pad + t] = t;
            }
        }

        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [batch, longest]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [batch, longest]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [batch, longest]);
        var names = new List<string>(3 + _pastNames.Length) { "input_ids", "attention_mask" };
        var values = new List<OrtValue> { idsValue, maskValue };
        if (_hasPositionIds)
        {
            names.Add("position_ids");
            values.Add(positionsValue);
        }

        var empty = new OrtValue[_pastNames.Length];
        IDisposableReadOnlyCollection<OrtValue>? outputs = null;
        try
        {
            for (var i = 0; i < empty.Length; i++)
            {
                empty[i] = OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [batch, _heads, 0, _headWidth]);
            }

            names.AddRange(_pastNames);
            values.AddRange(empty);
            using var runOptions = new RunOptions();
            using var cancel = cancellationToken.Register(() => runOptions.Terminate = true);
            outputs = _session.Run(runOptions, names, values, ["logits", .. _presentNames]);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var shape = outputs[0].GetTensorTypeAndShape().Shape; // [batch, positions (all, or the last only), vocabulary]
            var (positionsOut, vocabulary) = ((int)shape[1], (int)shape[2]);
            var shared = new SharedStepCache(FullCache(outputs, batch, longest), [.. rows]);
            outputs = null; // the rows own it now
            for (var r = 0; r < batch; r++)
            {
                var last = logits.Slice(((r * positionsOut) + positionsOut - 1) * vocabulary, vocabulary);
                rows[r].Accept(rows[r].Sampler.Next(last), shared, r, rows[r].PromptLength);
            }
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            outputs?.Dispose();
            foreach (var value in empty)
            {
                value?.Dispose();
            }
        }
    }

    /// <summary>
    /// One decode step for every row, in the forward passes that cost least: rows are sorted longest first and cut into runs
    /// of like lengths (<see cref="PlanPasses"/>), each run one pass, so that one long row does not make every short row
    /// attend over its length. A pass costs one read of the weights (<see cref="ModelBytes"/>); a run's padding (positions
    /// its shorter rows do not hold) costs its cache bytes three times (gathered, read, written again). Returns the number of
    /// rows of each pass.
    /// </summary>
    public IReadOnlyList<int> DecodeSteps(IReadOnlyList<DecodeRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count <= 1)
        {
            DecodeStep(rows, cancellationToken);
            return rows.Count == 1 ? [1] : [];
        }

        // Stable: rows of a run keep their order from turn to turn, so its shared cache is fed back without copying; and as
        // every row grows by one token a step, the cuts stay where they are until a row joins or leaves.
        var sorted = rows.OrderByDescending(r => r.CacheLength).ToList();
        var passes = PlanPasses([.. sorted.Select(r => (long)r.CacheLength)], ModelBytes, CacheBytesPerToken * 3);
        var start = 0;
        foreach (var count in passes)
        {
            DecodeStep(sorted.GetRange(start, count), cancellationToken);
            start += count;
        }

        return passes;
    }

    /// <summary>
    /// Cuts rows sorted longest first into consecutive runs, one forward pass each, at the least total cost: each pass costs
    /// <paramref name="passCost"/>, and each position of padding (a row shorter than its run's first) costs
    /// <paramref name="paddingCost"/>. Every cut is weighed against every other (not row by row): a long row that
    /// would pad two short ones and still leave the rest a pass of their own runs alone. A run of two or more rows holds at
    /// most <paramref name="maxRunLength"/> in all (a row alone may hold more). Returns the runs' sizes, in order.
    /// </summary>
    internal static int[] PlanPasses(IReadOnlyList<long> lengths, long passCost, long paddingCost, long maxRunLength = long.MaxValue)
    {
        var n = lengths.Count;
        var sums = new long[n + 1]; // sums[i]: the first i lengths
        for (var i = 0; i < n; i++)
        {
            sums[i + 1] = sums[i] + lengths[i];
        }

        // least[j]: the least cost of the first j rows; from[j]: where the last run of that plan begins.
        var least = new double[n + 1];
        var from = new int[n + 1];
        for (var j = 1; j <= n; j++)
        {
            least[j] = double.PositiveInfinity;
            for (var i = 0; i < j; i++)
            {
                if (j - i > 1 && sums[j] - sums[i] > maxRunLength)
                {
                    continue;
                }

                var padding = ((j - i) * lengths[i]) - (sums[j] - sums[i]);
                var cost = least[i] + passCost + ((double)padding * paddingCost);
                if (cost < least[j])
                {
                    (least[j], from[j]) = (cost, i);
                }
            }
        }

        var runs = new List<int>();
        for (var j = n; j > 0; j = from[j])
        {
            runs.Add(j - from[j]);
        }

        runs.Reverse();
        return [.. runs];
    }

    /// <summary>
    /// One decode step for every row at once: each row's last token goes in, its next token comes out. Rows are
    /// left-padded to the longest cache; <c>attention_mask</c> hides the padding (and the free positions of a cache with
    /// room) and <c>position_ids</c> carry each row's own positions, so each row computes what it would alone (to float
    /// rounding). The step's present tensors become the rows' shared cache, or, where they hold the new positions only
    /// (<see cref="AppendsPresents"/>), are appended to it: a next step over the same rows in the same order feeds it
    /// straight back in; when rows join or leave, the caches are gathered into a new padded batch once.
    /// </summary>
    public void DecodeStep(IReadOnlyList<DecodeRow> rows, CancellationToken cancellationToken = default)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var batch = rows.Count;
        var reused = SameBatchAsLastStep(rows);
        var alone = reused is null && batch == 1 && rows[0].Shared is null; // its own cache is the batch: no copy
        var own = alone ? rows[0].Own : null;
        var longest = reused?.Length ?? own?.Used ?? rows.Max(r => r.CacheLength); // where every row's positions end
        // Rows from different caches are gathered into one padded batch: scratch memory when the step's presents become
        // the cache, or a cache with room to append to when they hold the new positions only.
        var gathered = reused is null && !alone && !AppendsPresents ? new OrtValue[_pastNames.Length] : null;
        var appended = reused is null && !alone && AppendsPresents
            ? CacheTensors.Allocate(CacheMemory, _pastNames.Length, batch, (int)_heads, (int)_headWidth, CacheTensors.CapacityFor(longest + 1))
            : null;
        var capacity = reused?.Cache.Capacity ?? own?.Capacity ?? appended?.Capacity ?? longest;
        var ids = new long[batch];
        var positions = new long[batch];
        var mask = new long[batch * (capacity + 1)];
        for (var r = 0; r < batch; r++)
        {
            ids[r] = rows[r].LastToken;
            positions[r] = rows[r].CacheLength;
            Array.Fill(mask, 1L, r * (capacity + 1) + (longest - rows[r].CacheLength), rows[r].CacheLength); // free positions after them: masked out
            mask[(r * (capacity + 1)) + capacity] = 1; // the new position
        }

        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [batch, 1]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [batch, capacity + 1]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [batch, 1]);
        var names = new List<string>(3 + _pastNames.Length) { "input_ids", "attention_mask" };
        var values = new List<OrtValue> { idsValue, maskValue };
        if (_hasPositionIds)
        {
            names.Add("position_ids");
            values.Add(positionsValue);
        }

        var borrowed = gathered is null ? null : Interlocked.Exchange(ref _gatherBuffers, null);
        var buffers = gathered is null ? null : borrowed ?? new GatherBuffers(_pastNames.Length); // another step has the model's: this one's are its own
        IDisposableReadOnlyCollection<OrtValue>? outputs = null;
        try
        {
            for (var i = 0; i < _pastNames.Length; i++)
            {
                values.Add(reused?.Layer(i) ?? own?.Layer(i)
                    ?? (appended is not null
                        ? Gather(appended.Layer(i), rows, i, longest, capacity)
                        : Gather(gathered![i] = buffers!.Tensor(i, [batch, _heads, longest, _headWidth]), rows, i, longest, longest)));
            }

            appended?.SetUsed(longest);
            names.AddRange(_pastNames);
            using var runOptions = new RunOptions();
            using var cancel = cancellationToken.Register(() => runOptions.Terminate = true);
            outputs = _session.Run(runOptions, names, values, ["logits", .. _presentNames]);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            var vocabulary = (int)outputs[0].GetTensorTypeAndShape().Shape[2];
            var next = new int[batch];
            for (var r = 0; r < batch; r++)
            {
                next[r] = rows[r].Sampler.Next(logits.Slice(r * vocabulary, vocabulary));
            }

            if (!AppendsPresents)
            {
                var shared = new SharedStepCache(FullCache(outputs, batch, longest + 1), [.. rows]);
                outputs = null; // the rows own it now
                for (var r = 0; r < batch; r++)
                {
                    rows[r].Accept(next[r], shared, r, rows[r].CacheLength + 1);
                }

                return;
            }

            (reused?.Cache ?? own ?? appended!).Append(outputs, 1);
            if (appended is not null)
            {
                var shared = new SharedStepCache(appended, [.. rows]);
                appended = null; // the rows own it now
                for (var r = 0; r < batch; r++)
                {
                    rows[r].Accept(next[r], shared, r, rows[r].CacheLength + 1);
                }
            }
            else
            {
                foreach (var (row, token) in rows.Zip(next))
                {
                    row.Advance(token, row.CacheLength + 1);
                }
            }
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        finally
        {
            outputs?.Dispose();
            appended?.Dispose();
            foreach (var value in gathered ?? [])
            {
                value?.Dispose();
            }

            if (borrowed is not null)
            {
                Volatile.Write(ref _gatherBuffers, borrowed); // back with the model for the next step
            }
            else
            {
                buffers?.Dispose();
            }
        }
    }

    /// <summary>The last step's shared cache when <paramref name="rows"/> are exactly its rows in its order; otherwise null.</summary>
    private static SharedStepCache? SameBatchAsLastStep(IReadOnlyList<DecodeRow> rows)
    {
        if (rows[0].Shared is not { } shared || shared.Rows.Count != rows.Count)
        {
            return null;
        }

        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Shared != shared || rows[r].Slot != r)
            {
                return null;
            }
        }

        return shared;
    }

    /// <summary>
    /// [batch, heads, capacity, width]: each row's cache of layer tensor <paramref name="index"/>, right-aligned at
    /// <paramref name="longest"/> (zeros before it, and zeros after <paramref name="longest"/>), written into
    /// <paramref name="value"/>, which is returned.
    /// </summary>
    private OrtValue Gather(OrtValue value, IReadOnlyList<DecodeRow> rows, int index, int longest, int capacity)
    {
        var (heads, width) = ((int)_heads, (int)_headWidth);
        var target = value.GetTensorMutableDataAsSpan<float>();
        for (var r = 0; r < rows.Count; r++)
        {
            var length = rows[r].CacheLength;
            var (tensor, row, end, stride) = rows[r].Source(index);
            var source = tensor.GetTensorDataAsSpan<float>();
            for (var h = 0; h < heads; h++)
            {
                var block = target.Slice(((r * heads) + h) * capacity * width, capacity * width);
                block[..((longest - length) * width)].Clear(); // padding: zeros, masked out
                source.Slice((((row * heads) + h) * stride + (end - length)) * width, length * width).CopyTo(block[((longest - length) * width)..]);
                block[(longest * width)..].Clear(); // free positions: zeros, masked out
            }
        }

        return value;
    }
}
