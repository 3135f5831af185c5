using System.Collections.Concurrent;
using ModelMeter.Onnx.Generation;
using ModelMeter.Serving;

namespace ModelMeter.Onnx.Tests.Generation;

/// <summary>The scheduler's loop: requests join and leave between steps, within MaxBatch and MaxBatchTokens, each getting what it gets alone.</summary>
[Collection(SmallModelsCollection.Name)]
public sealed class BatchSchedulerTests(SmallModels models)
{
    [Fact]
    public async Task FourRequestsAtOnce_DecodedTogether_EachGetsItsOwnGreedyTokens()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var prompts = new[] { SmallModels.Prompt(model, 2), SmallModels.Prompt(model, 11), SmallModels.Prompt(model, 40), SmallModels.Prompt(model, 5) };
        var request = new GenerationRequest(16);
        var alone = prompts.Select(p => model.GenerateTokens(p, request, default).ToList()).ToList();
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 4, onStep: steps.Enqueue);

        var together = await Task.WhenAll(prompts.Select(p => CollectAsync(scheduler, p, request)));

        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i], together[i]);
        }

        Assert.Contains(steps, rows => rows > 1);
        Assert.All(steps, rows => Assert.InRange(rows, 1, 4));
    }

    [Fact]
    public async Task MaxBatchTokens_RowsWhoseCachesWouldExceedIt_WaitForRoom()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var request = new GenerationRequest(20);
        var prompts = Enumerable.Range(0, 6).Select(i => SmallModels.Prompt(model, 10 + i)).ToArray();
        var alone = prompts.Select(p => model.GenerateTokens(p, request, default).ToList()).ToList();
        var steps = new ConcurrentQueue<int>();
        // Each row may hold up to 30..35 tokens: 75 tokens leave room for two rows, never three, though MaxBatch allows 8.
        using var scheduler = new BatchScheduler(model, maxBatch: 8, maxBatchTokens: 75, onStep: steps.Enqueue);

        var together = await Task.WhenAll(prompts.Select(p => CollectAsync(scheduler, p, request)));

        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i], together[i]);
        }

        Assert.All(steps, rows => Assert.InRange(rows, 1, 2));
    }

    [Fact]
    public async Task MaxBatchTokens_CountsThePaddedBatch_ShortRowsWaitWhileALongOneWouldPadThemPastIt()
    {
        // The long row holds up to 10 + 50 = 60 tokens, a short one 5 + 10 = 15. Summed, 60 + 15 + 15 fit in 100; padded to the
        // longest, two rows already hold 2 × 60 = 120. So the short rows wait for the long one to leave, then run together (3 × 15).
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (longPrompt, shortPrompt) = (SmallModels.Prompt(model, 10), SmallModels.Prompt(model, 5));
        var (longRequest, shortRequest) = (new GenerationRequest(50), new GenerationRequest(10));
        var longAlone = model.GenerateTokens(longPrompt, longRequest, default).ToList();
        var shortAlone = model.GenerateTokens(shortPrompt, shortRequest, default).ToList();
        Assert.Equal(50, longAlone.Count); // no early end-of-text: the long row runs its whole length
        var counts = new ConcurrentQueue<int>(); // rows running, in the loop's order
        using var scheduler = new BatchScheduler(model, maxBatch: 8, maxBatchTokens: 100, onRunning: counts.Enqueue);
        var first = new TaskCompletionSource();
        var running = Task.Run(async () =>
        {
            var tokens = new List<int>();
            await foreach (var token in scheduler.GenerateTokensAsync(longPrompt, longRequest, CancellationToken.None))
            {
                tokens.Add(token);
                first.TrySetResult();
            }

            return tokens;
        });
        await first.Task; // the long row runs, 49 tokens to go
        var shorts = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => CollectAsync(scheduler, shortPrompt, shortRequest)));

        Assert.Equal(longAlone, await running);
        Assert.All(shorts, tokens => Assert.Equal(shortAlone, tokens));
        // The long row ran alone until it left (0 rows), and only then did the short rows join.
        Assert.Equal(0, counts.SkipWhile(rows => rows == 1).First());
        Assert.Contains(counts, rows => rows > 1);
    }

    [Fact]
    public async Task ARequestLargerThanMaxBatchTokens_RunsAlone()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var request = new GenerationRequest(30);
        var prompt = SmallModels.Prompt(model, 50);
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 8, maxBatchTokens: 10, onStep: steps.Enqueue);

        var tokens = await CollectAsync(scheduler, prompt, request);

        Assert.Equal(model.GenerateTokens(prompt, request, default), tokens);
        Assert.All(steps, rows => Assert.Equal(1, rows));
    }

    [Fact]
    public async Task ACancelledRequest_LeavesAtTheNextStep_OthersFinish()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var request = new GenerationRequest(200);
        var prompt = SmallModels.Prompt(model, 8);
        var expected = model.GenerateTokens(prompt, request, default).ToList();
        using var scheduler = new BatchScheduler(model, maxBatch: 4);
        using var cancel = new CancellationTokenSource();

        var leaving = Task.Run(async () =>
        {
            var got = 0;
            await foreach (var _ in scheduler.GenerateTokensAsync(prompt, request, cancel.Token))
            {
                if (++got == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        var staying = CollectAsync(scheduler, prompt, request);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        Assert.Equal(expected, await staying);
    }

    [Fact]
    public async Task ReaderStopsEarly_WithoutCancelling_RowLeavesBeforeTheNextStep()
    {
        // A stop string ends the reader, not the client: the row must leave all the same, as the other row keeps stepping.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var prompt = SmallModels.Prompt(model, 8);
        var expected = model.GenerateTokens(prompt, new GenerationRequest(60), default).ToList();
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 4, onStep: steps.Enqueue);
        var staying = CollectAsync(scheduler, prompt, new GenerationRequest(60));
        var got = 0;
        await foreach (var _ in scheduler.GenerateTokensAsync(prompt, new GenerationRequest(200), CancellationToken.None))
        {
            if (++got == 3)
            {
                break;
            }
        }

        var stepsWhenLeft = steps.Count;
        Assert.Equal(expected, await staying);

        // Every step after the reader left has the staying row only; the leaver was stepped at most once more (in flight).
        Assert.True(steps.Skip(stepsWhenLeft + 1).All(rows => rows == 1), $"steps after the reader left: {string.Join(",", steps.Skip(stepsWhenLeft))}");
        Assert.Equal(0, scheduler.RowsWithoutOwner);
    }

    [Fact]
    public async Task Dispose_WhileARowRuns_EndsItAndReturnsOnlyOnceNoStepCanRun()
    {
        // The backend disposes the model right after the scheduler: no step may run on a disposed model.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var scheduler = new BatchScheduler(model, maxBatch: 4);
        var tokens = scheduler.GenerateTokensAsync(SmallModels.Prompt(model, 8), new GenerationRequest(500), CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await tokens.MoveNextAsync());

        scheduler.Dispose();

        Assert.Equal(0, scheduler.Running);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await tokens.MoveNextAsync())
            {
            }
        });
        await tokens.DisposeAsync();
    }

    [Fact]
    public async Task ALongPromptJoiningAStream_IsComputedInChunksBetweenItsSteps_BothGetTheirOwnGreedyTokens()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (streamPrompt, longPrompt) = (SmallModels.Prompt(model, 8), SmallModels.Prompt(model, 300));
        var (streamRequest, longRequest) = (new GenerationRequest(150), new GenerationRequest(4));
        var streamAlone = model.GenerateTokens(streamPrompt, streamRequest, default).ToList();
        var longAlone = model.GenerateTokens(longPrompt, longRequest, default).ToList();
        Assert.True(streamAlone.Count >= 100, $"the stream must outlast the long prompt's prefill ({streamAlone.Count} tokens)");
        var (steps, seconds, work) = (new ConcurrentQueue<int>(), new ConcurrentQueue<double>(), new ConcurrentQueue<double>());
        using var scheduler = new BatchScheduler(model, maxBatch: 4, onStep: steps.Enqueue, onStepSeconds: seconds.Enqueue, prefillChunkTokens: 16, turns: new DeviceTurns().Join(work: work.Enqueue));

        var stream = scheduler.GenerateTokensAsync(streamPrompt, streamRequest, CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync()); // decoding now
        var streamTokens = new List<int> { stream.Current };
        var joined = steps.Count;
        var longTokens = scheduler.GenerateTokensAsync(longPrompt, longRequest, CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await longTokens.MoveNextAsync());
        var stepsBeforeItsFirstToken = steps.Count - joined;
        var longGot = new List<int> { longTokens.Current };
        while (await longTokens.MoveNextAsync())
        {
            longGot.Add(longTokens.Current);
        }

        while (await stream.MoveNextAsync())
        {
            streamTokens.Add(stream.Current);
        }

        // 300 prompt tokens at most 16 a turn: at least 18 turns, each with the stream's decode step (one prefill would be one turn).
        Assert.True(stepsBeforeItsFirstToken >= 18, $"decode steps while the long prompt was computed: {stepsBeforeItsFirstToken}");
        Assert.Equal(longAlone, longGot);
        Assert.Equal(streamAlone, streamTokens);
        Assert.All(seconds, s => Assert.True(s > 0));
        Assert.True(seconds.Count >= steps.Count, "every turn that computed reports its seconds");

        // Its work for the device's split: it holds the device while a turn runs and weighs next to nothing between turns.
        var reported = work.ToList();
        Assert.True(reported.Count(w => w == DeviceTurns.HoldingWork) >= seconds.Count, "every turn that computed took the device");
        for (var i = 0; i < reported.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? DeviceTurns.HoldingWork : DeviceTurns.WaitingWork, reported[i]);
        }
        await stream.DisposeAsync();
        await longTokens.DisposeAsync();
    }

    [Fact]
    public async Task AJoiningPromptBesideManyStreams_IsComputedInChunksOfFourTokensPerStream_WhenThatIsMoreThanTheChunk()
    {
        // 8 streams decode: a turn computes max(8, 4 × 8) = 32 of the 300 prompt tokens, so the prompt takes 10 turns, not 38.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (streamPrompt, longPrompt) = (SmallModels.Prompt(model, 8), SmallModels.Prompt(model, 300));
        var (streamRequest, longRequest) = (new GenerationRequest(150), new GenerationRequest(4));
        Assert.True(model.GenerateTokens(streamPrompt, streamRequest, default).Count() >= 100, "the streams must outlast the long prompt's prefill");
        var longAlone = model.GenerateTokens(longPrompt, longRequest, default).ToList();
        var turns = new ConcurrentQueue<double>();
        using var scheduler = new BatchScheduler(model, maxBatch: 9, onStepSeconds: turns.Enqueue, prefillChunkTokens: 8);
        var streams = Enumerable.Range(0, 8).Select(_ => scheduler.GenerateTokensAsync(streamPrompt, streamRequest, CancellationToken.None).GetAsyncEnumerator()).ToList();
        foreach (var stream in streams)
        {
            Assert.True(await stream.MoveNextAsync()); // all eight decoding
        }

        var joined = turns.Count;
        var longTokens = scheduler.GenerateTokensAsync(longPrompt, longRequest, CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await longTokens.MoveNextAsync());
        var turnsBeforeItsFirstToken = turns.Count - joined;
        var longGot = new List<int> { longTokens.Current };
        while (await longTokens.MoveNextAsync())
        {
            longGot.Add(longTokens.Current);
        }

        Assert.InRange(turnsBeforeItsFirstToken, 10, 16); // 10 chunks of at most 32, then its first token's turn; 8 a turn would take 38
        Assert.Equal(longAlone, longGot);
        foreach (var stream in streams)
        {
            await stream.DisposeAsync();
        }

        await longTokens.DisposeAsync();
    }

    [Fact]
    public async Task APromptJoiningStreamsThatEndWithinTwiceItsChunkTurns_AsManyDecodingAsWaiting_WaitsForThem_ThenIsComputedWhole()
    {
        // Two streams decode, 34 tokens to go; the joining prompt's 300 tokens would take 19 turns in chunks of 16 beside
        // them, and they end within twice that: it waits (they decode alone, never three rows in a turn), then is
        // computed whole. In chunks it would be done in 19 turns and decode beside them for the 15 they have left.
        var turns = await RowsPerTurnWhileJoiningAsync(streams: 2, joiners: 1, joinerPromptTokens: 300, joinerMaxTokens: 4);

        Assert.All(turns, rows => Assert.InRange(rows, 0, 2));
    }

    [Fact]
    public async Task PromptsJoiningAStreamThatEndsAfterTheirChunkTurns_MoreWaitingThanDecoding_AreComputedInChunksBesideIt()
    {
        // One stream decodes, 34 tokens to go; two prompts of 150 tokens would take 19 turns in chunks of 16. The stream
        // ends later than that, and more rows would wait than decode: they are computed in chunks beside it and decode
        // beside it (three rows in a turn); waiting, they would idle 34 turns beside one row.
        var turns = await RowsPerTurnWhileJoiningAsync(streams: 1, joiners: 2, joinerPromptTokens: 150, joinerMaxTokens: 30);

        Assert.Equal(3, turns.Max());
    }

    [Fact]
    public async Task ClientsOfRowsThatFinishedTogether_ComingBackApart_JoinTogetherWithinTheJoinWindow()
    {
        // Two rows finish in one step and the batch empties; their clients come back 300 ms apart. Within the join window
        // the loop waits for the second instead of starting the first alone, so the two run as one batch from their first
        // step (without it, the first would be a step ahead for good, and their prompts computed in passes of their own).
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (prompt, request) = (SmallModels.Prompt(model, 6), new GenerationRequest(8));
        var alone = model.GenerateTokens(prompt, request, default).ToList();
        Assert.Equal(8, alone.Count); // no early end-of-text: rows that start together finish together
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 4, maxBatchTokens: 60, onStep: steps.Enqueue, joinWindow: TimeSpan.FromSeconds(30));
        await FinishRowsTogetherAsync(2, scheduler, model, prompt, request);
        var before = steps.Count;

        var first = CollectAsync(scheduler, prompt, request);
        await Task.Delay(300); // the second client comes back later, well within the window
        Assert.False(first.IsCompleted);
        var second = CollectAsync(scheduler, prompt, request);

        Assert.Equal(alone, await first);
        Assert.Equal(alone, await second);
        Assert.All(steps.Skip(before), rows => Assert.Equal(2, rows));
    }

    [Theory]
    [InlineData(0)] // usually before the second row's last step: its prompt waits for that step
    [InlineData(200)] // after it
    public async Task TheLastRowOfAGroupFinishingAStepBehind_ItsClientJoinsTheOthersNextPrompts_WithinTheJoinWindow(int firstComesBackAfterMs)
    {
        // Two rows start together; one runs 8 tokens, the other 9. The first's client sends again; the second's comes back
        // 300 ms after its row's last step, within the window: the loop waits for it rather than computing the first
        // prompt alone (only prompts wait, no stream), so the two run as one pair from their first step; otherwise the
        // first would be a step ahead and leave the other behind again.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var prompt = SmallModels.Prompt(model, 6);
        var (eight, nine) = (new GenerationRequest(8), new GenerationRequest(9));
        var (eightAlone, nineAlone) = (model.GenerateTokens(prompt, eight, default).ToList(), model.GenerateTokens(prompt, nine, default).ToList());
        Assert.Equal(9, nineAlone.Count); // no early end-of-text: the rows finish a step apart
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 4, maxBatchTokens: 60, onStep: steps.Enqueue, joinWindow: TimeSpan.FromSeconds(30));
        await using (var holder = scheduler.GenerateTokensAsync(SmallModels.Prompt(model, 10), new GenerationRequest(100), CancellationToken.None).GetAsyncEnumerator())
        {
            Assert.True(await holder.MoveNextAsync()); // the long row holds the batch while both rows are queued behind it
            var first = CollectAsync(scheduler, prompt, eight);
            var second = CollectAsync(scheduler, prompt, nine);
            while (await holder.MoveNextAsync())
            {
            }

            Assert.Equal(eightAlone, await first);
            await Task.Delay(firstComesBackAfterMs);
            var again = CollectAsync(scheduler, prompt, eight);
            Assert.Equal(nineAlone, await second);
            var before = steps.Count;
            await Task.Delay(300);
            Assert.False(again.IsCompleted);
            var late = CollectAsync(scheduler, prompt, eight);

            Assert.Equal(eightAlone, await again);
            Assert.Equal(eightAlone, await late);
            Assert.All(steps.Skip(before), rows => Assert.Equal(2, rows));
        }
    }

    [Fact]
    public async Task AJoinWindowNoOneElseComesIn_Ends_TheFirstRequestRunsAlone()
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (prompt, request) = (SmallModels.Prompt(model, 6), new GenerationRequest(8));
        var alone = model.GenerateTokens(prompt, request, default).ToList();
        var steps = new ConcurrentQueue<int>();
        using var scheduler = new BatchScheduler(model, maxBatch: 4, maxBatchTokens: 60, onStep: steps.Enqueue, joinWindow: TimeSpan.FromMilliseconds(200));
        await FinishRowsTogetherAsync(2, scheduler, model, prompt, request);
        var before = steps.Count;

        Assert.Equal(alone, await CollectAsync(scheduler, prompt, request).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.All(steps.Skip(before), rows => Assert.Equal(1, rows));
    }

    [Fact]
    public async Task RowsThatFinishedTogether_BesideOneStillDecoding_TheirClientsJoinTogetherWithinTheJoinWindow()
    {
        // Three rows start in one turn (the window gathers them): one runs 14 tokens, two run 8 and finish in one step while
        // it still decodes. Their clients come back 300 ms apart; the turn waits for both (the running row waits with them),
        // so they again run as one pair, and every row still gets its own greedy tokens.
        using var model = OnnxCausalLm.Load(models.LongContext);
        var prompt = SmallModels.Prompt(model, 6);
        var (shortRequest, longRequest) = (new GenerationRequest(8), new GenerationRequest(14));
        var (shortAlone, longAlone) = (model.GenerateTokens(prompt, shortRequest, default).ToList(), model.GenerateTokens(prompt, longRequest, default).ToList());
        Assert.Equal(14, longAlone.Count);
        using var scheduler = new BatchScheduler(model, maxBatch: 4, maxBatchTokens: 60, joinWindow: TimeSpan.FromSeconds(30));
        await FinishRowsTogetherAsync(3, scheduler, model, prompt, shortRequest);
        await using var running = scheduler.GenerateTokensAsync(prompt, longRequest, CancellationToken.None).GetAsyncEnumerator();
        var pair = Task.WhenAll(CollectAsync(scheduler, prompt, shortRequest), CollectAsync(scheduler, prompt, shortRequest));
        var longGot = new List<int>();
        for (var i = 0; i < 8 && await running.MoveNextAsync(); i++)
        {
            longGot.Add(running.Current); // the pair's 8 tokens come in the same steps as these
        }

        Assert.All(await pair, tokens => Assert.Equal(shortAlone, tokens));
        var next = running.MoveNextAsync().AsTask();
        var first = CollectAsync(scheduler, prompt, shortRequest);
        await Task.Delay(300);
        Assert.False(first.IsCompleted);
        Assert.False(next.IsCompleted); // the running row waits for the window too
        var second = CollectAsync(scheduler, prompt, shortRequest);
        while (await next)
        {
            longGot.Add(running.Current);
            next = running.MoveNextAsync().AsTask();
        }

        Assert.Equal(longAlone, longGot);
        Assert.Equal(shortAlone, await first);
        Assert.Equal(shortAlone, await second);
    }

    /// <summary>
    /// Runs <paramref name="streams"/> streams of 36 tokens; once a turn decoded them all, queues <paramref name="joiners"/>
    /// prompts (chunks of 16 tokens) before the next turn. Checks every row's greedy tokens against its own alone, and
    /// returns the rows each turn decoded.
    /// </summary>
    private async Task<List<int>> RowsPerTurnWhileJoiningAsync(int streams, int joiners, int joinerPromptTokens, int joinerMaxTokens)
    {
        using var model = OnnxCausalLm.Load(models.LongContext);
        var (streamPrompt, joinerPrompt) = (SmallModels.Prompt(model, 8), SmallModels.Prompt(model, joinerPromptTokens));
        var (streamRequest, joinerRequest) = (new GenerationRequest(36), new GenerationRequest(joinerMaxTokens));
        var streamAlone = model.GenerateTokens(streamPrompt, streamRequest, default).ToList();
        var joinerAlone = model.GenerateTokens(joinerPrompt, joinerRequest, default).ToList();
        Assert.Equal(36, streamAlone.Count); // no early end-of-text: the streams run their whole length
        var turns = new List<int> { 0 }; // written by the loop's thread only
        using var allDecoding = new ManualResetEventSlim();
        using var queued = new ManualResetEventSlim();
        using var scheduler = new BatchScheduler(
            model, maxBatch: 4, prefillChunkTokens: 16,
            onStep: rows => turns[^1] += rows,
            onStepSeconds: _ =>
            {
                if (!allDecoding.IsSet && turns[^1] == streams)
                {
                    allDecoding.Set();
                    queued.Wait(); // the loop holds here until the prompts are queued: they join at the next turn
                }

                turns.Add(0);
            });
        var running = Enumerable.Range(0, streams).Select(_ => CollectAsync(scheduler, streamPrompt, streamRequest)).ToList();
        Assert.True(allDecoding.Wait(TimeSpan.FromSeconds(60)), "a turn that decoded every stream");
        var joining = Enumerable.Range(0, joiners).Select(_ => scheduler.GenerateTokensAsync(joinerPrompt, joinerRequest, CancellationToken.None).GetAsyncEnumerator()).ToList();
        var firsts = joining.Select(j => j.MoveNextAsync().AsTask()).ToList(); // each queued before it awaits its tokens
        queued.Set();
        foreach (var (joiner, first) in joining.Zip(firsts))
        {
            Assert.True(await first);
            var got = new List<int> { joiner.Current };
            while (await joiner.MoveNextAsync())
            {
                got.Add(joiner.Current);
            }

            Assert.Equal(joinerAlone, got);
            await joiner.DisposeAsync();
        }

        Assert.All(await Task.WhenAll(running), tokens => Assert.Equal(streamAlone, tokens));
        return turns;
    }

    /// <summary>
    /// Runs <paramref name="count"/> rows of <paramref name="prompt"/> that join in one turn and so finish in one step,
    /// leaving the batch empty: a long row holds the batch (its 10 + 100 tokens of cache leave no room beside it in 60)
    /// while they are all queued.
    /// </summary>
    private static async Task FinishRowsTogetherAsync(int count, BatchScheduler scheduler, OnnxCausalLm model, int[] prompt, GenerationRequest request)
    {
        await using var holder = scheduler.GenerateTokensAsync(SmallModels.Prompt(model, 10), new GenerationRequest(100), CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await holder.MoveNextAsync()); // the long row runs, 99 tokens to go
        var rows = Task.WhenAll(Enumerable.Range(0, count).Select(_ => CollectAsync(scheduler, prompt, request))); // all queued behind it
        while (await holder.MoveNextAsync())
        {
        }

        Assert.All(await rows, tokens => Assert.Equal(request.MaxTokens, tokens.Count));
    }

    private static async Task<List<int>> CollectAsync(BatchScheduler scheduler, int[] prompt, GenerationRequest request)
    {
        var tokens = new List<int>();
        await foreach (var token in scheduler.GenerateTokensAsync(prompt, request, CancellationToken.None))
        {
            tokens.Add(token);
        }

        return tokens;
    }
}
