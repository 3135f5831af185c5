using ModelMeter.Metering;
using ModelMeter.Server.Models;
using ModelMeter.Serving;

namespace ModelMeter.Server.Endpoints;

/// <summary>Runs one metered generation: queue, device time, tokens, and the charge, whatever the outcome.</summary>
internal static partial class GenerationRun
{
    public sealed record Outcome(string RequestId, GenerationResult? Result, RequestCharge Charge, IResult? Problem);

    public static async Task<Outcome> RunAsync(
        HttpContext http, CostMeter meter, ServedModel served, string endpoint, IReadOnlyList<int> promptIds,
        GenerationRequest generation, ILogger logger)
    {
        var requestId = $"req_{Guid.NewGuid():N}";
        var aborted = http.RequestAborted;
        var metered = meter.Begin(served.Name, endpoint);
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
            try
            {
                var result = served.Backend.Generate(promptIds, generation, metered, aborted);
                return new Outcome(requestId, result, metered.Complete(), null);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // The client left: stop, and charge the device time it used.
                var charge = metered.Fail(ErrorReason.ClientClosed);
                LogClientClosed(logger, requestId, served.Name, metered.OutputTokens, charge.CostUsd);
                return new Outcome(requestId, null, charge, Results.Empty);
            }
            catch (Exception e)
            {
                var charge = metered.Fail(ErrorReason.Internal);
                LogFailed(logger, e, requestId, served.Name);
                return new Outcome(requestId, null, charge, Problems.Failed(requestId));
            }
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Request {RequestId} to {Model}: client closed after {Tokens} tokens; charged {CostUsd} USD")]
    private static partial void LogClientClosed(ILogger logger, string requestId, string model, int tokens, double costUsd);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Request {RequestId} to {Model} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string requestId, string model);
}
