using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Hosting.Validation;

internal sealed partial class ModelMeterOptionsValidator
{
    private static void ValidateDevices(ModelMeterOptions options, List<string> errors)
    {
        foreach (var (device, d) in options.Devices)
        {
            var key = $"{Root}:Devices:{device}";
            if (NameProblem(device) is { } badName)
            {
                errors.Add($"{key}: the device's name {badName}.");
            }

            if (d.HourlyUsd is null && d.Rates.Count == 0)
            {
                errors.Add($"{key}:HourlyUsd: give the device's price per hour (or Rates).");
            }

            if (d.HourlyUsd is { } hourly && (!double.IsFinite(hourly) || hourly < 0))
            {
                errors.Add($"{key}:HourlyUsd: {hourly} is not a price; it must be a finite number, zero or more.");
            }

            for (var i = 0; i < d.Rates.Count; i++)
            {
                if (!double.IsFinite(d.Rates[i].HourlyUsd) || d.Rates[i].HourlyUsd < 0)
                {
                    errors.Add($"{key}:Rates:{i}:HourlyUsd: {d.Rates[i].HourlyUsd} is not a price; it must be a finite number, zero or more.");
                }
            }

            if (d.Rates.GroupBy(r => r.From).Any(g => g.Count() > 1))
            {
                errors.Add($"{key}:Rates: two rates start at the same time.");
            }

            if (d.Shared && !options.Ledger.UsesClickHouse)
            {
                errors.Add($"{key}:Shared: a device shared by several replicas is billed once from the fleet ledger; set Ledger:Provider to ClickHouse.");
            }

            ValidateLoad(key, d, errors);
            ValidateEnergy(key, d.Energy, errors);
        }
    }

    private void ValidateModels(ModelMeterOptions options, List<string> errors)
    {
        foreach (var (model, m) in options.Models)
        {
            var key = $"{Root}:Models:{model}";
            if (NameProblem(model) is { } badName)
            {
                errors.Add($"{key}: the model's name {badName}.");
            }

            var factory = factories.LastOrDefault(f => string.Equals(f.Name, m.Backend, StringComparison.OrdinalIgnoreCase));
            if (factory is null)
            {
                errors.Add($"{key}:Backend: '{m.Backend}' is not a backend here; registered: {string.Join(", ", factories.Select(f => f.Name).Distinct())}.");
            }
            else
            {
                try
                {
                    errors.AddRange(factory.Validate(sections.For(model, m, options.Devices)).Select(problem => $"{key}:{problem}"));
                }
                catch (InvalidOperationException e) when (ConfigurationErrors.Describe(e) is { } problem)
                {
                    errors.Add(problem); // a backend's own setting the binder could not convert (MaxBatch: "many")
                }
            }

            if (string.IsNullOrWhiteSpace(m.Device) == (m.Price is null))
            {
                errors.Add($"{key}:Device: give exactly one of Device (shares a device's time) and Price (tokens × price).");
            }
            else if (m.Device is { Length: > 0 } device && !options.Devices.ContainsKey(device) && !sections.Root.GetSection("Devices").GetSection(device).GetChildren().Any()) // one configured with a bad value is named above
            {
                errors.Add($"{key}:Device: unknown device '{device}'; known: {string.Join(", ", options.Devices.Keys)}.");
            }

            if (m.Price is { } price && !IsPrice(price))
            {
                errors.Add($"{key}:Price: prices must be zero or more.");
            }

            if (m.ReferencePrice is { } reference && !IsPrice(reference))
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

            if (m.DeniedFields.FirstOrDefault(f => string.IsNullOrWhiteSpace(f) || f is "model" or "messages" or "prompt" or "input") is { } denied)
            {
                errors.Add($"{key}:DeniedFields: '{denied}' cannot be denied (a request cannot be made without it); name fields such as n, logit_bias or tools.");
            }
        }
    }

    private static bool IsPrice(TokenPriceOptions price) =>
        new[] { price.InputPerMillion, price.OutputPerMillion, price.CachedInputPerMillion ?? 0, price.CacheWritePerMillion ?? 0 }.All(p => p >= 0 && double.IsFinite(p));

    private static void ValidateEnergy(string key, DeviceEnergyOptions energy, List<string> errors)
    {
        if (energy.Source is { } source && !new[] { "Nvml", "Estimate", "None" }.Contains(source, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{key}:Energy:Source: '{source}' is not Nvml, Estimate or None.");
        }

        foreach (var (name, watts) in new[] { ("IdleWatts", energy.IdleWatts), ("BusyWatts", energy.BusyWatts), ("GridGramsPerKwh", energy.GridGramsPerKwh) })
        {
            if (watts is { } value && !(value >= 0 && double.IsFinite(value)))
            {
                errors.Add($"{key}:Energy:{name}: {value} must be a finite number, zero or more.");
            }
        }

        if (energy.Grid.Any(g => !(g.GramsPerKwh >= 0 && double.IsFinite(g.GramsPerKwh))) || energy.Grid.GroupBy(g => g.From).Any(g => g.Count() > 1))
        {
            errors.Add($"{key}:Energy:Grid: intensities must be zero or more, and two cannot start at the same moment.");
        }
    }

    private static void ValidateLoad(string key, DeviceOptions d, List<string> errors)
    {
        var load = d.Load;
        if (load.MetricsUrl is null && load.Metric is null)
        {
            return;
        }

        if (!d.Shared)
        {
            errors.Add($"{key}:Load: load readings find unmetered use of a shared device; set Shared to true as well.");
        }

        if (!Uri.TryCreate(load.MetricsUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            errors.Add($"{key}:Load:MetricsUrl: '{load.MetricsUrl}' is not an http(s) URL of the server's metrics.");
        }

        if (load.Metric is null || !System.Text.RegularExpressions.Regex.IsMatch(load.Metric, "^[a-zA-Z_:][a-zA-Z0-9_:]*$"))
        {
            errors.Add($"{key}:Load:Metric: '{load.Metric}' is not a Prometheus metric name (vllm:num_requests_running, tgi_batch_current_size, model_inflight_requests).");
        }

        if (load.IntervalMs is < 100 or > 60_000)
        {
            errors.Add($"{key}:Load:IntervalMs: {load.IntervalMs} is out of range 100..60000.");
        }
    }

    /// <summary>
    /// What is wrong with a model's or device's name, or null: it is a metric label and a report row, so it cannot start with
    /// '(' (the rows <c>(idle)</c>, <c>(other)</c> and <c>(unmetered)</c> do, and a report would take it for one of them),
    /// hold control characters, or begin or end with spaces.
    /// </summary>
    private static string? NameProblem(string name) =>
        name.StartsWith('(') ? "must not start with '(': report rows such as (idle) and (other) do"
        : name.Any(char.IsControl) ? "must not hold control characters"
        : name != name.Trim() ? "must not begin or end with spaces"
        : null;
}
