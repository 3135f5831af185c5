namespace ModelMeter.AspNetCore.Gateway;

/// <summary>How much of an upstream's answer is read: one event-stream line, a whole answer, an error body (bytes).</summary>
internal sealed record UpstreamLimits(int LineBytes, long AnswerBytes, int ErrorBytes);
