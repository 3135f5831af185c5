using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using ModelMeter.Serving;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Hosting.Validation;

/// <summary>Checks the whole <c>ModelMeter</c> section and reports every problem at once, each with its key.</summary>
internal sealed partial class ModelMeterOptionsValidator(IEnumerable<IModelBackendFactory> factories, ModelSections sections) : IValidateOptions<ModelMeterOptions>
{
    private const string Root = ModelMeterOptions.Section;

    public ValidateOptionsResult Validate(string? name, ModelMeterOptions options)
    {
        // Entries the binder dropped for a value it could not convert, named first: the problems they cause later (a model's
        // unknown device, no models at all) follow from them.
        var errors = new List<string>();
        errors.AddRange(ConfigurationErrors.Dropped(sections.Root.GetSection("Devices"), options.Devices));
        errors.AddRange(ConfigurationErrors.Dropped(sections.Root.GetSection("Models"), options.Models));
        errors.AddRange(ConfigurationErrors.Dropped(sections.Root.GetSection("Tenants"), options.Tenants));
        errors.AddRange(ConfigurationErrors.Dropped<BudgetOptions>(sections.Root.GetSection("Budgets"), options.Budgets.Count));
        foreach (var (device, d) in options.Devices)
        {
            errors.AddRange(ConfigurationErrors.Dropped<RatePeriodOptions>(sections.Root.GetSection($"Devices:{device}:Rates"), d.Rates.Count));
            errors.AddRange(ConfigurationErrors.Dropped<GridPeriodOptions>(sections.Root.GetSection($"Devices:{device}:Energy:Grid"), d.Energy.Grid.Count));
        }

        for (var i = 0; i < options.Budgets.Count; i++)
        {
            errors.AddRange(ConfigurationErrors.Dropped<double>(sections.Root.GetSection($"Budgets:{i}:Thresholds"), options.Budgets[i].Thresholds?.Count ?? 0));
        }

        errors.AddRange(ConfigurationErrors.NotNamed(sections.Root, typeof(ModelMeterOptions)));
        if (options.Models.Count == 0 && !sections.Root.GetSection("Models").GetChildren().Any())
        {
            errors.Add($"{Root}:Models: no models are configured.");
        }

        ValidateDevices(options, errors);
        ValidateModels(options, errors);
        ValidateLedgerAndAuth(options, errors);
        ValidateBudgets(options, errors);
        for (var i = 0; i < options.ScopeEndpoints.Count; i++)
        {
            var endpoint = options.ScopeEndpoints[i];
            if ((string.IsNullOrWhiteSpace(endpoint) ? "must not be empty" : NameProblem(endpoint)) is { } problem)
            {
                errors.Add($"{Root}:ScopeEndpoints:{i}: the endpoint's name {problem}.");
            }
        }

        ValidateLimits(options.Limits, errors);
        ValidateWebhooks(options.Webhooks, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Distinct()); // a dropped entry's enum is named twice
    }

    private static void ValidateLimits(LimitsOptions limits, List<string> errors)
    {
        if (limits.MaxTokens < 1)
        {
            errors.Add($"{Root}:Limits:MaxTokens: {limits.MaxTokens} must be at least 1.");
        }

        if (limits.DefaultMaxTokens < 1 || limits.DefaultMaxTokens > limits.MaxTokens)
        {
            errors.Add($"{Root}:Limits:DefaultMaxTokens: {limits.DefaultMaxTokens} must be between 1 and MaxTokens ({limits.MaxTokens}).");
        }

        if (limits.MaxPromptChars is < 1)
        {
            errors.Add($"{Root}:Limits:MaxPromptChars: {limits.MaxPromptChars} must be at least 1.");
        }

        if (limits.MaxMessages < 1)
        {
            errors.Add($"{Root}:Limits:MaxMessages: {limits.MaxMessages} must be at least 1.");
        }

        if (limits.TenantRequestsPerMinute is < 1 || limits.TenantMaxConcurrentRequests is < 1)
        {
            errors.Add($"{Root}:Limits:TenantRequestsPerMinute: per-tenant limits must be at least 1 (leave them out for no limit).");
        }

        if (limits.MaxBodyBytes < 1)
        {
            errors.Add($"{Root}:Limits:MaxBodyBytes: {limits.MaxBodyBytes} must be at least 1.");
        }
    }

    private static void ValidateWebhooks(WebhookOptions webhooks, List<string> errors)
    {
        if (!(webhooks.TimeoutSeconds > 0) || webhooks.TimeoutSeconds > 600)
        {
            errors.Add($"{Root}:Webhooks:TimeoutSeconds: {webhooks.TimeoutSeconds} must be above 0 and at most 600.");
        }

        if (webhooks.Retries is < 0 or > 20)
        {
            errors.Add($"{Root}:Webhooks:Retries: {webhooks.Retries} is out of range 0..20.");
        }
    }

    private static bool IsSha256(string hash) => hash.Length == 64 && hash.All(char.IsAsciiHexDigit);
}
