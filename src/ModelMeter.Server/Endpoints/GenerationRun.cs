using ModelMeter.Ledger;
using ModelMeter.Metering;
using ModelMeter.Server.Models;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints;

/// <summary>Runs one metered generation: queue, device time, tokens, and the charge, whatever the outcome.</summary>
internal static partial class GenerationRun
{
    public sealed record Outcome(string RequestId, GenerationResult? Result, RequestCharge Charge, IResult? Problem);

    /// <summary>Who pays: the tenant (may be a metric label if configured) and the end user (ledger only).</summary>
    public sealed record Payer(string Tenant, string? User);

    public static async Task<Outcome> RunAsync(
        HttpContext http, CostMeter meter, LedgerWriter ledger, ServedModel served, string endpoint, Payer payer,
        IReadOnlyList<int> promptIds, GenerationRequest generation, ILogger logger, ITokenSink? observer = null, string? requestId = null)
    {
        requestId ??= NewRequestId();
        var aborted = http.RequestAborted;
        if (ledger.Durability == LedgerDurability.Strict && !ledger.IsHealthy)
        {
            // Strict: never serve a request that cannot be billed.
            meter.Reject(served.Name, endpoint, ErrorReason.LedgerUnavailable);
            return new Outcome(requestId, null, default, Problems.Unavailable(http, "The cost ledger cannot write; requests are refused until it can.", retryAfterSeconds: 5));
        }

        var metered = meter.Begin(served.Name, endpoint);
        metered.Tenant = payer.Tenant;
        metered.User = payer.User;
        ModelGate.Slot? slot;
        try
        {
            slot = await served.Gate.TryEnterAsync(aborted);
        }
        catch (OperationCanceledException)
        {
            return new Outcome(requestId, null, metered.Fail(ErrorReason.ClientClosed), Results.Empty);
        }

        if (slot is null)
        {
            return new Outcome(requestId, null, metered.Fail(ErrorReason.Overloaded), Problems.Unavailable(http, $"Model '{served.Name}' has too many requests waiting.", retryAfterSeconds: 1));
        }

        // The device slot is given back before the ledger commit, so the next request computes meanwhile.
        GenerationResult? result = null;
        RequestCharge charge;
        string status;
        IResult? problem = null;
        using (slot)
        {
            metered.InputTokens = promptIds.Count;
            metered.StartOnDevice();
            try
            {
                ITokenSink sink = observer is null ? metered : new TeeSink(metered, observer);
                result = served.Backend.Generate(promptIds, generation, sink, aborted);
                (charge, status) = (metered.Complete(), "ok");
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client left: stop, and charge the device time it used.
                (charge, status, problem) = (metered.Fail(ErrorReason.ClientClosed), ErrorReason.ClientClosed, Results.Empty);
                LogClientClosed(logger, requestId, served.Name, metered.OutputTokens, charge.CostUsd);
            }
            catch (Exception e)
            {
                (charge, status, problem) = (metered.Fail(ErrorReason.Internal), ErrorReason.Internal, Problems.Failed(requestId));
                LogFailed(logger, e, requestId, served.Name);
            }
        }

        try
        {
            await ledger.RecordAsync(metered.ToLedgerRow(requestId, charge, status));
        }
        catch (LedgerUnavailableException e)
        {
            LogUnbilled(logger, e, requestId, served.Name);
            // Strict: an answer that could not be billed is not given.
            problem ??= Problems.Unavailable(http, "The cost ledger could not record this request, so it is not served.", retryAfterSeconds: 5);
            result = null;
        }

        return new Outcome(requestId, problem is null ? result : null, charge, problem);
    }

    public static string NewRequestId() => $"req_{Guid.NewGuid():N}";

    /// <summary>Hands each token to the meter first, then to an observer (a stream).</summary>
    private sealed class TeeSink(ITokenSink first, ITokenSink second) : ITokenSink
    {
        public void OnToken(int tokenId)
        {
            first.OnToken(tokenId);
            second.OnToken(tokenId);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Request {RequestId} to {Model}: client closed after {Tokens} tokens; charged {CostUsd} USD")]
    private static partial void LogClientClosed(ILogger logger, string requestId, string model, int tokens, double costUsd);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} could not be recorded in the ledger")]
    private static partial void LogUnbilled(ILogger logger, Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string requestId, string model);
}
