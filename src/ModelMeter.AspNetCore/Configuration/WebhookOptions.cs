namespace ModelMeter.AspNetCore.Configuration;

/// <summary>How budget webhooks are delivered.</summary>
public sealed class WebhookOptions
{
    /// <summary>Seconds one delivery attempt may take. Default 10.</summary>
    public double TimeoutSeconds { get; set; } = 10;

    /// <summary>Retries after a failed attempt (timeout, connection error, 408, 429, 5xx), with exponential back-off from 1 s. Default 5.</summary>
    public int Retries { get; set; } = 5;
}
