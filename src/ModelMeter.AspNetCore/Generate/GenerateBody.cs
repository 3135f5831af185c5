namespace ModelMeter.AspNetCore.Generate;

/// <summary>The body of <c>POST /v1/generate/{model}</c>; names are snake_case on the wire.</summary>
internal sealed class GenerateBody
{
    public string? Prompt { get; set; }

    public int? MaxTokens { get; set; }

    public double? Temperature { get; set; }

    public double? TopP { get; set; }

    public int? Seed { get; set; }

    /// <summary>The end user, as in OpenAI's API; recorded in the ledger only.</summary>
    public string? User { get; set; }
}
