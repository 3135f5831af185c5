namespace ModelMeter.AspNetCore.Gateway;

/// <summary>An upstream's answer went past a size limit: it is broken off there, never read whole into memory.</summary>
internal sealed class UpstreamTooLargeException(string message) : IOException(message);
