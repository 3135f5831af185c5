using ModelMeter.Onnx.Building;

namespace ModelMeter.Server.Configuration;

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
    }
}
