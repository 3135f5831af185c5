namespace ModelMeter.Budgets;

/// <summary>A budget passed one of its thresholds in a period: notified once.</summary>
public sealed record BudgetCrossing(BudgetDefinition Budget, double Threshold, double SpentUsd, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd);
