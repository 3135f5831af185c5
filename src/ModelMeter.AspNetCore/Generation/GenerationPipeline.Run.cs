using System.Text;
using Microsoft.Extensions.Logging;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generation;

internal sealed partial class GenerationPipeline
{
    /// <summary>Queue, device time, the backend's stream, tokens, the charge whatever the outcome, and the ledger row.</summary>
    private async Task<GenerationOutcome> RunMeteredAsync(Run run, IGenerationObserver? observer, CancellationToken aborted)
    {
        var (requestId, call, served) = (run.RequestId, run.Call, run.Served);
        var writer = ledger.Writer;
        var metered = meter.Begin(served.Name, call.Endpoint);
        metered.Tenant = run.Tenant;
        metered.User = run.User;
        ModelGate.Slot? slot;
        try
        {
            // A batching model holds each request's cache (prompt plus token limit) while it runs: the gate counts it.
            slot = await served.Gate.TryEnterAsync((long)run.InputTokens + run.Request.MaxTokens, aborted);
        }
        catch (OperationCanceledException)
        {
            return Ended(run, metered, metered.Fail(ErrorReason.ClientClosed), new GenerationError(GenerationErrorKind.ClientClosed, "The client went away."), null);
        }

        if (slot is null)
        {
            var busy = new GenerationError(GenerationErrorKind.Overloaded, $"Model '{served.Name}' has too many requests waiting.") { RetryAfter = TimeSpan.FromSeconds(1) };
            return Ended(run, metered, metered.Fail(ErrorReason.Overloaded), busy, null);
        }

        // The device slot is given back before the ledger commit, so the next request computes meanwhile.
        var text = new StringBuilder();
        string? finishReason = null;
        var started = false;
        RequestCharge charge;
        GenerationError? error = null;
        using (slot)
        {
            metered.InputTokens = run.InputTokens;
            metered.UsageEstimated = run.InputEstimated;
            var context = new GenerationContext(requestId, served.Name, run.Tenant);
            metered.StartOnDevice();
            try
            {
                await foreach (var chunk in served.Backend!.GenerateAsync(call.Prompt!, run.Request, aborted).WithCancellation(aborted))
                {
                    text.Append(chunk.Text);
                    finishReason = chunk.FinishReason ?? finishReason;
                    metered.TokensSoFar(chunk.OutputTokens);
                    if (chunk.Usage is { } usage)
                    {
                        metered.SetUsage(usage.InputTokens, usage.OutputTokens, usage.Estimated);
                    }

                    if (observer is not null)
                    {
                        if (!started && writer.Durability == LedgerDurability.Strict)
                        {
                            // Strict: a stream's row exists before its first token reaches the client; the final row replaces it.
                            await writer.RecordAsync(metered.ToProvisionalRow(requestId, run.ReservedUsd), aborted);
                        }

                        started = true;
                        await observer.OnChunkAsync(context, chunk, aborted);
                    }
                }

                charge = metered.Finish(); // counted as served only once its row is committed (below)
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client left: stop, and charge the device time it used.
                error = new GenerationError(GenerationErrorKind.ClientClosed, "The client went away.");
                charge = metered.Fail(ErrorReason.ClientClosed);
                LogClientClosed(requestId, served.Name, metered.OutputTokens, charge.CostUsd);
            }
            catch (LedgerUnavailableException e)
            {
                // The provisional row could not be committed: the stream does not start (its client gets 503).
                error = new GenerationError(GenerationErrorKind.LedgerUnavailable, "The cost ledger could not record this stream, so it is not served.")
                {
                    RetryAfter = LedgerWriter.RetryAfterFailure,
                };
                charge = metered.Fail(ErrorReason.LedgerUnavailable);
                LogUnbilled(e, requestId, served.Name);
            }
            catch (GenerationException e)
            {
                error = FromBackend(e);
                if (text.Length == 0 && metered.OutputTokens == 0)
                {
                    metered.ClearTokens(); // refused before anything ran: a priced model charges nothing
                }

                charge = metered.Fail(Reason(error.Kind));
                LogUpstreamFailed(requestId, served.Name, e.Failure, e.UpstreamStatus, e.Message, e.InnerException?.Message ?? "");
            }
            catch (Exception e)
            {
                error = new GenerationError(GenerationErrorKind.Internal, $"The model failed on request {requestId}; the server log has the cause.");
                charge = metered.Fail(ErrorReason.Internal);
                LogFailed(e, requestId, served.Name);
            }
        }

        try
        {
            await writer.RecordAsync(metered.ToLedgerRow(requestId, charge, error is null ? "ok" : Reason(error.Kind)));
            if (error is null)
            {
                metered.MarkServed(charge);
            }
        }
        catch (LedgerUnavailableException e)
        {
            LogUnbilled(e, requestId, served.Name);
            if (error is null)
            {
                // Strict: an answer that could not be billed is not given. Its device time is still the model's: the row
                // waits (as failed) until the ledger can write, so that request rows plus idle still equal the bill.
                metered.MarkFailed(ErrorReason.LedgerUnavailable);
                error = new GenerationError(GenerationErrorKind.LedgerUnavailable, "The cost ledger could not record this request, so it is not served.")
                {
                    RetryAfter = LedgerWriter.RetryAfterFailure,
                };
            }

            if (!e.RowKept)
            {
                await writer.RecordDeferredAsync(metered.ToLedgerRow(requestId, charge, Reason(error.Kind)));
            }
        }

        return Ended(run, metered, charge, error, finishReason) with { Text = error is null ? text.ToString() : "", Started = started };
    }

    private static GenerationOutcome Ended(Run run, MeteredRequest metered, RequestCharge charge, GenerationError? error, string? finishReason) =>
        new(run.RequestId, run.Served.Name, error)
        {
            FinishReason = finishReason,
            InputTokens = metered.InputTokens,
            OutputTokens = metered.OutputTokens,
            UsageEstimated = metered.UsageEstimated,
            Charge = charge,
        };

    private static GenerationError FromBackend(GenerationException e) => e.Failure switch
    {
        GenerationFailure.UpstreamUnreachable => new GenerationError(GenerationErrorKind.UpstreamUnreachable, e.Message),
        GenerationFailure.UpstreamTimeout => new GenerationError(GenerationErrorKind.UpstreamTimeout, e.Message),
        GenerationFailure.UpstreamRejected => new GenerationError(GenerationErrorKind.UpstreamRejected, e.Message) { UpstreamStatus = e.UpstreamStatus },
        GenerationFailure.UpstreamAuth => new GenerationError(GenerationErrorKind.UpstreamAuth, e.Message) { UpstreamStatus = e.UpstreamStatus },
        _ => new GenerationError(GenerationErrorKind.UpstreamBroken, e.Message),
    };

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Request {RequestId} to {Model}: client closed after {Tokens} tokens; charged {CostUsd} USD")]
    private partial void LogClientClosed(string requestId, string model, int tokens, double costUsd);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} failed")]
    private partial void LogFailed(Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} could not be recorded in the ledger")]
    private partial void LogUnbilled(Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Request {RequestId} to {Model}: upstream failure {Failure} (status {Status}): {Message} {Detail}")]
    private partial void LogUpstreamFailed(string requestId, string model, GenerationFailure failure, int? status, string message, string detail);
}
