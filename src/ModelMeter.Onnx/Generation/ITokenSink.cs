namespace ModelMeter.Onnx.Generation;

/// <summary>Receives tokens as a backend produces them (metering, streaming).</summary>
public interface ITokenSink
{
    /// <summary>One more token was generated.</summary>
    void OnToken(int tokenId);
}
