using Microsoft.Extensions.Options;
using ModelMeter.Onnx.Building;
using ModelMeter.Budgets;

namespace ModelMeter.Server.Configuration;

/// <summary>Checks the whole <c>ModelMeter</c> section and reports every problem at once, each with its key.</summary>
internal sealed class ModelMeterOptionsValidator(IHostEnvironment environment) : IValidateOptions<ModelMeterOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelMeterOptions options)
    {
        var errors = new List<string>();
        const string root = ModelMeterOptions.Section;
        if (options.Models.Count == 0)
        {
            errors.Add($"{root}:Models: no models are configured.");
        }

        foreach (var (device, d) in options.Devices)
        {
            var key = $"{root}:Devices:{device}";
            if (d.HourlyUsd is null && d.Rates.Count == 0)
            {
                errors.Add($"{key}:HourlyUsd: give the device's price per hour (or Rates).");
            }

            if (d.HourlyUsd is { } hourly && (!double.IsFinite(hourly) || hourly < 0))
            {
                errors.Add($"{key}:HourlyUsd: {hourly} is not a price; it must be zero or more.");
            }

            for (var i = 0; i < d.Rates.Count; i++)
            {
                if (!double.IsFinite(d.Rates[i].HourlyUsd) || d.Rates[i].HourlyUsd < 0)
                {
                    errors.Add($"{key}:Rates:{i}:HourlyUsd: {d.Rates[i].HourlyUsd} is not a price; it must be zero or more.");
                }
            }

            if (d.Rates.GroupBy(r => r.From).Any(g => g.Count() > 1))
            {
                errors.Add($"{key}:Rates: two rates start at the same time.");
            }
        }

        foreach (var (model, m) in options.Models)
        {
            var key = $"{root}:Models:{model}";
            if (!string.Equals(m.Backend, "Onnx", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{key}:Backend: '{m.Backend}' is not supported; use Onnx.");
            }

            if (string.IsNullOrWhiteSpace(m.Device))
            {
                errors.Add($"{key}:Device: every model needs a device.");
            }
            else if (!options.Devices.ContainsKey(m.Device))
            {
                errors.Add($"{key}:Device: unknown device '{m.Device}'; known: {string.Join(", ", options.Devices.Keys)}.");
            }

            if (string.IsNullOrWhiteSpace(m.Path))
            {
                errors.Add($"{key}:Path: every ONNX model needs a directory.");
            }
            else if (!DemoModels.IsDemo(model) && !File.Exists(System.IO.Path.Combine(ResolvePath(m.Path), "model.onnx")))
            {
                errors.Add($"{key}:Path: no model.onnx in {ResolvePath(m.Path)}.");
            }

            if (m.ReferencePrice is { } price && (!(price.InputPerMillion >= 0) || !(price.OutputPerMillion >= 0) || !double.IsFinite(price.InputPerMillion + price.OutputPerMillion)))
            {
                errors.Add($"{key}:ReferencePrice: prices must be zero or more.");
            }

            if (m.MaxConcurrency is < 1 or > 1024)
            {
                errors.Add($"{key}:MaxConcurrency: {m.MaxConcurrency} is out of range 1..1024.");
            }

            if (m.MaxQueue is < 0 or > 100_000)
            {
                errors.Add($"{key}:MaxQueue: {m.MaxQueue} is out of range 0..100000.");
            }
        }

        var ledger = options.Ledger;
        if (!string.Equals(ledger.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{root}:Ledger:Provider: '{ledger.Provider}' is not supported; use Sqlite.");
        }

        if (string.IsNullOrWhiteSpace(ledger.Path))
        {
            errors.Add($"{root}:Ledger:Path: give the ledger file.");
        }

        if (ledger.FlushIntervalMs is < 1 or > 600_000)
        {
            errors.Add($"{root}:Ledger:FlushIntervalMs: {ledger.FlushIntervalMs} is out of range 1..600000.");
        }

        if (ledger.QueueCapacity < 1)
        {
            errors.Add($"{root}:Ledger:QueueCapacity: {ledger.QueueCapacity} must be at least 1.");
        }

        foreach (var (tenant, t) in options.Tenants)
        {
            if (t.ApiKeySha256 is { } hash && !IsSha256(hash))
            {
                errors.Add($"{root}:Tenants:{tenant}:ApiKeySha256: not a SHA-256 in hex (64 hex digits).");
            }
        }

        if (options.Auth.AdminKeySha256 is { } admin && !IsSha256(admin))
        {
            errors.Add($"{root}:Auth:AdminKeySha256: not a SHA-256 in hex (64 hex digits).");
        }

        if (options.Auth.Enabled && !options.Tenants.Values.Any(t => t.ApiKeySha256 is not null))
        {
            errors.Add($"{root}:Auth:Enabled: auth is on but no tenant has an ApiKeySha256.");
        }

        for (var i = 0; i < options.Budgets.Count; i++)
        {
            var b = options.Budgets[i];
            var key = $"{root}:Budgets:{i}";
            if (string.IsNullOrWhiteSpace(b.Name))
            {
                errors.Add($"{key}:Name: every budget needs a name.");
            }
            else if (options.Budgets.Count(x => x.Name == b.Name) > 1)
            {
                errors.Add($"{key}:Name: '{b.Name}' is used by more than one budget.");
            }

            if (!(b.LimitUsd > 0) || !double.IsFinite(b.LimitUsd))
            {
                errors.Add($"{key}:LimitUsd: {b.LimitUsd} must be above zero.");
            }

            if (b.Scope != BudgetScope.Global && string.IsNullOrWhiteSpace(b.Target))
            {
                errors.Add($"{key}:Target: a {b.Scope} budget needs the {b.Scope.ToString().ToLowerInvariant()} it covers.");
            }
            else if (b.Scope == BudgetScope.Model && !options.Models.ContainsKey(b.Target!))
            {
                errors.Add($"{key}:Target: unknown model '{b.Target}'.");
            }

            if (b.Thresholds is { } thresholds && thresholds.Any(t => !(t > 0) || t > 10))
            {
                errors.Add($"{key}:Thresholds: each threshold is a fraction of the limit above 0 (0.8 = 80%).");
            }

            if (!TimeZoneInfo.TryFindSystemTimeZoneById(b.TimeZone, out _))
            {
                errors.Add($"{key}:TimeZone: unknown time zone '{b.TimeZone}'.");
            }

            if (b.WebhookUrl is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                errors.Add($"{key}:WebhookUrl: '{url}' is not an http(s) URL.");
            }
        }

        var limits = options.Limits;
        if (limits.MaxTokens < 1)
        {
            errors.Add($"{root}:Limits:MaxTokens: {limits.MaxTokens} must be at least 1.");
        }

        if (limits.DefaultMaxTokens < 1 || limits.DefaultMaxTokens > limits.MaxTokens)
        {
            errors.Add($"{root}:Limits:DefaultMaxTokens: {limits.DefaultMaxTokens} must be between 1 and MaxTokens ({limits.MaxTokens}).");
        }

        if (limits.MaxBodyBytes < 1)
        {
            errors.Add($"{root}:Limits:MaxBodyBytes: {limits.MaxBodyBytes} must be at least 1.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsSha256(string hash) => hash.Length == 64 && hash.All(char.IsAsciiHexDigit);

    public string ResolvePath(string path) => System.IO.Path.GetFullPath(path, environment.ContentRootPath);
}
