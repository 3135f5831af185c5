using ModelMeter.Budgets;

namespace ModelMeter.AspNetCore.Configuration;

/// <summary>A spending limit (an entry of <c>ModelMeter:Budgets</c>).</summary>
public sealed class BudgetOptions
{
    /// <summary>Unique name; the <c>budget</c> label.</summary>
    public string? Name { get; set; }

    /// <summary>Global, Model or Tenant. Default Global.</summary>
    public BudgetScope Scope { get; set; } = BudgetScope.Global;

    /// <summary>The model or tenant, for Model and Tenant scopes.</summary>
    public string? Target { get; set; }

    /// <summary>Day or Month. Default Day.</summary>
    public BudgetPeriod Period { get; set; } = BudgetPeriod.Day;

    /// <summary>Time zone id (IANA) where periods start at midnight. Default UTC.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>US dollars per period.</summary>
    public double LimitUsd { get; set; }

    /// <summary>Fractions of the limit that notify. Default 0.8 and 1.0.</summary>
    public List<double>? Thresholds { get; set; }

    /// <summary>Alert (notify only, the default) or Enforce (also refuse requests with 429 once spent).</summary>
    public BudgetAction Action { get; set; } = BudgetAction.Alert;

    /// <summary>Where threshold crossings are posted, Slack-compatible JSON.</summary>
    public string? WebhookUrl { get; set; }

    internal BudgetDefinition ToDefinition() => new(
        Name!, Scope, Target, Period, TimeZoneInfo.FindSystemTimeZoneById(TimeZone), LimitUsd,
        (Thresholds is { Count: > 0 } t ? t : [0.8, 1.0]).Order().ToArray(), Action == BudgetAction.Enforce,
        WebhookUrl is null ? null : new Uri(WebhookUrl));
}

/// <summary>What a budget does when spent.</summary>
public enum BudgetAction
{
    /// <summary>Notify only.</summary>
    Alert,

    /// <summary>Notify, and refuse requests in scope with 429 until the period resets.</summary>
    Enforce,
}
