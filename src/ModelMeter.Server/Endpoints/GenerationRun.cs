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
        IReadOnlyList<int> promptIds, GenerationRequest generation, ILogger logger)
    {
        var requestId = $"req_{Guid.NewGuid():N}";
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
            var charge = metered.Fail(ErrorReason.Overloaded);
            return new Outcome(requestId, null, charge, Problems.Unavailable(http, $"Model '{served.Name}' has too many requests waiting.", retryAfterSeconds: 1));
        }

        using (slot)
        {
            metered.InputTokens = promptIds.Count;
            metered.StartOnDevice();
            GenerationResult result;
            try
            {
                result = served.Backend.Generate(promptIds, generation, metered, aborted);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client left: stop, and charge the device time it used.
                var charge = metered.Fail(ErrorReason.ClientClosed);
                LogClientClosed(logger, requestId, served.Name, metered.OutputTokens, charge.CostUsd);
                await RecordQuietlyAsync(ledger, metered.ToLedgerRow(requestId, charge, ErrorReason.ClientClosed), logger);
                return new Outcome(requestId, null, charge, Results.Empty);
            }
            catch (Exception e)
            {
                var charge = metered.Fail(ErrorReason.Internal);
                LogFailed(logger, e, requestId, served.Name);
                await RecordQuietlyAsync(ledger, metered.ToLedgerRow(requestId, charge, ErrorReason.Internal), logger);
                return new Outcome(requestId, null, charge, Problems.Failed(requestId));
            }

            var charged = metered.Complete();
            try
            {
                await ledger.RecordAsync(metered.ToLedgerRow(requestId, charged, "ok"));
            }
            catch (LedgerUnavailableException e)
            {
                LogUnbilled(logger, e, requestId, served.Name);
                return new Outcome(requestId, null, charged, Problems.Unavailable(http, "The cost ledger could not record this request, so it is not served.", retryAfterSeconds: 5));
            }

            return new Outcome(requestId, result, charged, null);
        }
    }

    private static async Task RecordQuietlyAsync(LedgerWriter ledger, LedgerRow row, ILogger logger)
    {
        try
        {
            await ledger.RecordAsync(row);
        }
        catch (LedgerUnavailableException e)
        {
            LogUnbilled(logger, e, row.RequestId, row.Model);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Request {RequestId} to {Model}: client closed after {Tokens} tokens; charged {CostUsd} USD")]
    private static partial void LogClientClosed(ILogger logger, string requestId, string model, int tokens, double costUsd);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} could not be recorded in the ledger")]
    private static partial void LogUnbilled(ILogger logger, Exception exception, string requestId, string model);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string requestId, string model);
}
