namespace ModelMeter.Server.Configuration;

/// <summary>A served model.</summary>
public sealed class ModelOptions
{
    /// <summary>The backend; only <c>Onnx</c> today.</summary>
    public string Backend { get; set; } = "Onnx";

    /// <summary>The export directory (model.onnx, vocab.json, merges.txt), relative to the content root. Demo models are written here when it is missing.</summary>
    public string? Path { get; set; }

    /// <summary>The device the model runs on (a key of <c>Devices</c>).</summary>
    public string? Device { get; set; }

    /// <summary>Requests computed at once. Default 1.</summary>
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>Requests allowed to wait for a slot; beyond that the answer is 503 with Retry-After. Default 32.</summary>
    public int MaxQueue { get; set; } = 32;

    /// <summary>What an API would charge for this model's tokens, to compare self-hosting with; optional.</summary>
    public TokenPriceOptions? ReferencePrice { get; set; }

    /// <summary>ONNX Runtime threads per step; 0 lets it choose. Default 0.</summary>
    public int IntraOpThreads { get; set; }
}

/// <summary>A price per million tokens, US dollars.</summary>
public sealed class TokenPriceOptions
{
    /// <summary>US dollars per million input (prompt) tokens.</summary>
    public double InputPerMillion { get; set; }

    /// <summary>US dollars per million output (generated) tokens.</summary>
    public double OutputPerMillion { get; set; }
}
