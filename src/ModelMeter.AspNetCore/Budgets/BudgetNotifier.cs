using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Threading.Channels;
using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>
/// Posts budget threshold crossings to their webhooks in the background, Slack-compatible (<c>{"text": ...}</c> plus
/// the figures). Each delivery runs on its own, so a hook that never answers delays no other; timeouts and retries
/// are the HTTP client's resilience pipeline. A failed delivery is logged and never stops the notifier. Never blocks a request.
/// </summary>
internal sealed partial class BudgetNotifier(IHttpClientFactory clients, ILogger<BudgetNotifier> logger) : BackgroundService
{
    public const string ClientName = "ModelMeter.Webhooks";

    private readonly Channel<BudgetCrossing> _queue = Channel.CreateUnbounded<BudgetCrossing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Task, bool> _deliveries = new();

    public void Notify(IEnumerable<BudgetCrossing> crossings)
    {
        foreach (var crossing in crossings)
        {
            LogCrossed(crossing.Budget.Name, crossing.Threshold, crossing.SpentUsd, crossing.Budget.LimitUsd);
            if (crossing.Budget.WebhookUrl is not null)
            {
                _queue.Writer.TryWrite(crossing);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var crossing in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                var delivery = DeliverAsync(crossing, stoppingToken);
                _deliveries[delivery] = true;
                _ = delivery.ContinueWith(done => _deliveries.TryRemove(done, out _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_deliveries.Keys);
    }

    private async Task DeliverAsync(BudgetCrossing crossing, CancellationToken stoppingToken)
    {
        var budget = crossing.Budget;
        try
        {
            using var response = await clients.CreateClient(ClientName).PostAsJsonAsync(budget.WebhookUrl, Body(crossing), stoppingToken);
            if (!response.IsSuccessStatusCode)
            {
                LogGaveUp(budget.Name, crossing.Threshold, $"HTTP {(int)response.StatusCode}");
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogGaveUp(budget.Name, crossing.Threshold, "the server is stopping");
        }
        catch (Exception e)
        {
            // Timeouts (Polly's and the client's), connection errors, anything: this delivery failed, the notifier goes on.
            LogGaveUp(budget.Name, crossing.Threshold, $"{e.GetType().Name}: {e.Message}");
        }
    }

    private static object Body(BudgetCrossing crossing)
    {
        var budget = crossing.Budget;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"ModelMeter budget '{budget.Name}' passed {crossing.Threshold:P0}: {crossing.SpentUsd:0.00} of {budget.LimitUsd:0.00} USD spent this {budget.Period.ToString().ToLowerInvariant()} (since {crossing.PeriodStart:yyyy-MM-dd HH:mm} UTC).");
        return new
        {
            text,
            budget = budget.Name,
            threshold = crossing.Threshold,
            spent_usd = crossing.SpentUsd,
            limit_usd = budget.LimitUsd,
            period_start = crossing.PeriodStart,
            period_end = crossing.PeriodEnd,
        };
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Budget {Budget} passed {Threshold:P0}: {SpentUsd} of {LimitUsd} USD")]
    private partial void LogCrossed(string budget, double threshold, double spentUsd, double limitUsd);

    [LoggerMessage(EventId = 32, Level = LogLevel.Error, Message = "Could not notify budget {Budget} threshold {Threshold:P0} after every retry: {Reason}")]
    private partial void LogGaveUp(string budget, double threshold, string reason);
}
