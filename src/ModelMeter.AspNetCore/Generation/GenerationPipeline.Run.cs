using System.Text;
using Microsoft.Extensions.Logging;
using ModelMeter.AspNetCore.Catalog;
using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Generation;

internal sealed partial class GenerationPipeline
{
    /// <summary>Queue, device time, the backend's stream and tokens; the lifecycle ends it (charge, row, settlement) whatever the outcome.</summary>
    private async Task<GenerationOutcome> RunMeteredAsync(Run run, RequestLifecycle lifecycle, IGenerationObserver? observer, CancellationToken aborted)
    {
        var (call, served, metered) = (run.Call, run.Served, lifecycle.Metered);
        var requestId = lifecycle.RequestId;
        bool entered;
        try
        {
            // A batching model holds each request's cache (prompt plus token limit) while it runs: the gate counts it.
            entered = await lifecycle.EnterGateAsync(served.Gate, (long)run.InputTokens + run.Request.MaxTokens, aborted);
        }
        catch (OperationCanceledException)
        {
            return await RefusedAsync(lifecycle, new GenerationError(GenerationErrorKind.ClientClosed, "The client went away."));
        }

        if (!entered)
        {
            return await RefusedAsync(lifecycle, new GenerationError(GenerationErrorKind.Overloaded, $"Model '{served.Name}' has too many requests waiting.") { RetryAfter = TimeSpan.FromSeconds(1) });
        }

        var text = new StringBuilder();
        System.Text.Json.JsonElement? upstreamAnswer = null;
        string? finishReason = null;
        var started = false;
        GenerationError? error = null;
        metered.InputTokens = run.InputTokens;
        metered.UsageEstimated = run.InputEstimated;
        var context = new GenerationContext(requestId, served.Name, lifecycle.Tenant);
        lifecycle.StartOnDevice();
        try
        {
            await foreach (var chunk in served.Backend!.GenerateAsync(call.Prompt!, run.Request, aborted).WithCancellation(aborted))
            {
                text.Append(chunk.Text);
                upstreamAnswer = chunk.Relayed ?? upstreamAnswer;
                finishReason = chunk.FinishReason ?? finishReason;
                metered.TokensSoFar(chunk.OutputTokens);
                if (chunk.Usage is { } usage)
                {
                    metered.SetUsage(usage.InputTokens, usage.OutputTokens, usage.Estimated, usage.Details);
                }

                if (observer is not null)
                {
                    await lifecycle.BeforeFirstChunkAsync(aborted);
                    started = true;
                    await observer.OnChunkAsync(context, chunk, aborted);
                }
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client left: stop, and charge the device time it used.
            error = new GenerationError(GenerationErrorKind.ClientClosed, "The client went away.");
        }
        catch (LedgerUnavailableException e)
        {
            // The provisional row could not be committed: the stream does not start (its client gets 503).
            error = new GenerationError(GenerationErrorKind.LedgerUnavailable, "The cost ledger could not record this stream, so it is not served.")
            {
                RetryAfter = LedgerWriter.RetryAfterFailure,
            };
            LogUnbilled(e, requestId, served.Name);
        }
        catch (GenerationException e)
        {
            error = FromBackend(e);
            if (text.Length == 0 && metered.OutputTokens == 0)
            {
                metered.ClearTokens(); // refused before anything ran: a priced model charges nothing
            }

            LogUpstreamFailed(requestId, served.Name, e.Failure, e.UpstreamStatus, e.Message, e.InnerException?.Message ?? "");
        }
        catch (Exception e)
        {
            error = new GenerationError(GenerationErrorKind.Internal, $"The model failed on request {requestId}; the server log has the cause.");
            LogFailed(e, requestId, served.Name);
        }

        var (charge, unbilled) = await lifecycle.EndAsync(error is null ? null : GenerationErrors.Reason(error.Kind));
        if (error?.Kind == GenerationErrorKind.ClientClosed)
        {
            LogClientClosed(requestId, served.Name, metered.OutputTokens, charge.CostUsd);
        }

        if (unbilled is not null)
        {
            LogUnbilled(unbilled, requestId, served.Name);
            error ??= new GenerationError(GenerationErrorKind.LedgerUnavailable, "The cost ledger could not record this request, so it is not served.")
            {
                RetryAfter = LedgerWriter.RetryAfterFailure,
            };
        }

        return Ended(lifecycle, charge, error, finishReason) with
        {
            Text = error is null ? text.ToString() : "",
            Started = started,
            Relayed = error is null && !call.Stream ? upstreamAnswer : null,
        };
    }

    /// <summary>Refused at the model's gate: nothing ran, so no row; the refusal is counted and what admission took goes back.</summary>
    private static async Task<GenerationOutcome> RefusedAsync(RequestLifecycle lifecycle, GenerationError error)
    {
        var (charge, _) = await lifecycle.EndAsync(GenerationErrors.Reason(error.Kind), writeRow: false);
        return Ended(lifecycle, charge, error, null);
    }

    private static GenerationOutcome Ended(RequestLifecycle lifecycle, RequestCharge charge, GenerationError? error, string? finishReason) =>
        new(lifecycle.RequestId, lifecycle.Metered.Model, error)
        {
            FinishReason = finishReason,
            InputTokens = lifecycle.Metered.InputTokens,
            OutputTokens = lifecycle.Metered.OutputTokens,
            Details = lifecycle.Metered.Details,
            UsageEstimated = lifecycle.Metered.UsageEstimated,
            Charge = charge,
        };

    private static GenerationError FromBackend(GenerationException e) =>
        new(GenerationErrors.KindOf(e.Failure), e.Message) { UpstreamStatus = e.Failure is GenerationFailure.UpstreamRejected or GenerationFailure.UpstreamAuth ? e.UpstreamStatus : null };

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Request {RequestId} to {Model}: client closed after {Tokens} tokens; charged {CostUsd} USD")]
    private partial void LogClientClosed(string requestId, string model, int tokens, double costUsd);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} failed")]
    private partial void LogFailed(Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} could not be recorded in the ledger")]
    private partial void LogUnbilled(Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Request {RequestId} to {Model}: upstream failure {Failure} (status {Status}): {Message} {Detail}")]
    private partial void LogUpstreamFailed(string requestId, string model, GenerationFailure failure, int? status, string message, string detail);
}
