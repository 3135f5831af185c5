using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Hosting.Validation;

internal sealed partial class ModelMeterOptionsValidator
{
    private static void ValidateDevices(ModelMeterOptions options, List<string> errors)
    {
        foreach (var (device, d) in options.Devices)
        {
            var key = $"{Root}:Devices:{device}";
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
    }

    private void ValidateModels(ModelMeterOptions options, List<string> errors)
    {
        foreach (var (model, m) in options.Models)
        {
            var key = $"{Root}:Models:{model}";
            var factory = factories.LastOrDefault(f => string.Equals(f.Name, m.Backend, StringComparison.OrdinalIgnoreCase));
            if (factory is null)
            {
                errors.Add($"{key}:Backend: '{m.Backend}' is not a backend here; registered: {string.Join(", ", factories.Select(f => f.Name).Distinct())}.");
            }
            else
            {
                errors.AddRange(factory.Validate(sections.For(model, m, options.Devices)).Select(problem => $"{key}:{problem}"));
            }

            if (string.IsNullOrWhiteSpace(m.Device) == (m.Price is null))
            {
                errors.Add($"{key}:Device: give exactly one of Device (shares a device's time) and Price (tokens × price).");
            }
            else if (m.Device is { Length: > 0 } device && !options.Devices.ContainsKey(device))
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
        }
    }

    private static bool IsPrice(TokenPriceOptions price) =>
        price.InputPerMillion >= 0 && price.OutputPerMillion >= 0 && double.IsFinite(price.InputPerMillion + price.OutputPerMillion);
}
