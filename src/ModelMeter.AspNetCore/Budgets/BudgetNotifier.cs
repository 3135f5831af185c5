using System.Globalization;
using System.Net.Http.Json;
using System.Threading.Channels;
using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Budgets;

/// <summary>
/// Posts budget threshold crossings to their webhooks in the background, Slack-compatible
/// (<c>{"text": ...}</c> plus the figures), retrying with backoff. Never blocks a request.
/// </summary>
internal sealed partial class BudgetNotifier(IHttpClientFactory clients, ILogger<BudgetNotifier> logger) : BackgroundService
{
    private static readonly TimeSpan[] Backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16)];
    private readonly Channel<BudgetCrossing> _queue = Channel.CreateUnbounded<BudgetCrossing>(new UnboundedChannelOptions { SingleReader = true });

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
                await SendAsync(crossing, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendAsync(BudgetCrossing crossing, CancellationToken stoppingToken)
    {
        var budget = crossing.Budget;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"ModelMeter budget '{budget.Name}' passed {crossing.Threshold:P0}: {crossing.SpentUsd:0.00} of {budget.LimitUsd:0.00} USD spent this {budget.Period.ToString().ToLowerInvariant()} (since {crossing.PeriodStart:yyyy-MM-dd HH:mm} UTC).");
        var body = new
        {
            text,
            budget = budget.Name,
            threshold = crossing.Threshold,
            spent_usd = crossing.SpentUsd,
            limit_usd = budget.LimitUsd,
            period_start = crossing.PeriodStart,
            period_end = crossing.PeriodEnd,
        };
        var client = clients.CreateClient(nameof(BudgetNotifier));
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var response = await client.PostAsJsonAsync(budget.WebhookUrl, body, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                LogAttemptFailed(budget.Name, attempt + 1, $"HTTP {(int)response.StatusCode}");
            }
            catch (HttpRequestException e)
            {
                LogAttemptFailed(budget.Name, attempt + 1, e.Message);
            }

            if (attempt >= Backoff.Length)
            {
                LogGaveUp(budget.Name, crossing.Threshold);
                return;
            }

            await Task.Delay(Backoff[attempt], stoppingToken);
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Budget {Budget} passed {Threshold:P0}: {SpentUsd} of {LimitUsd} USD")]
    private partial void LogCrossed(string budget, double threshold, double spentUsd, double limitUsd);

    [LoggerMessage(EventId = 31, Level = LogLevel.Warning, Message = "Webhook for budget {Budget}, attempt {Attempt}, failed: {Reason}")]
    private partial void LogAttemptFailed(string budget, int attempt, string reason);

    [LoggerMessage(EventId = 32, Level = LogLevel.Error, Message = "Gave up notifying budget {Budget} threshold {Threshold:P0}")]
    private partial void LogGaveUp(string budget, double threshold);
}
