using System.Globalization;

namespace ModelMeter.Server.Tests.Gateway;

/// <summary>Configuration of a front server whose models are all <c>Backend: OpenAI</c>, on a device <c>gpu0</c> unless priced.</summary>
internal sealed class GatewaySettings
{
    private readonly Dictionary<string, string?> _settings = new()
    {
        ["ModelMeter:Devices:gpu0:Kind"] = "Gpu",
        ["ModelMeter:Devices:gpu0:HourlyUsd"] = "3600",
        ["ModelMeter:Ledger:Path"] = "data/ledger.db",
    };

    public Dictionary<string, string?> Settings => _settings;

    /// <summary>A model that shares <c>gpu0</c>'s time.</summary>
    public GatewaySettings OnDevice(string model, string baseUrl, string? upstreamModel = null, params (string Key, string Value)[] extra) =>
        Add(model, baseUrl, upstreamModel, [("Device", "gpu0"), .. extra]);

    /// <summary>A model priced per token, US dollars per million.</summary>
    public GatewaySettings Priced(string model, string baseUrl, double inputPerMillion, double outputPerMillion, string? upstreamModel = null, params (string Key, string Value)[] extra) =>
        Add(model, baseUrl, upstreamModel,
            [("Price:InputPerMillion", inputPerMillion.ToString(CultureInfo.InvariantCulture)), ("Price:OutputPerMillion", outputPerMillion.ToString(CultureInfo.InvariantCulture)), .. extra]);

    private GatewaySettings Add(string model, string baseUrl, string? upstreamModel, (string Key, string Value)[] extra)
    {
        _settings[$"ModelMeter:Models:{model}:Backend"] = "OpenAI";
        _settings[$"ModelMeter:Models:{model}:BaseUrl"] = baseUrl;
        if (upstreamModel is not null)
        {
            _settings[$"ModelMeter:Models:{model}:UpstreamModel"] = upstreamModel;
        }

        foreach (var (key, value) in extra)
        {
            _settings[$"ModelMeter:Models:{model}:{key}"] = value;
        }

        return this;
    }
}
