namespace ModelMeter.Onnx.Generation;

/// <summary>What a whole generation made.</summary>
/// <param name="Text">The generated text, prompt excluded.</param>
/// <param name="OutputTokens">How many tokens were generated.</param>
/// <param name="FinishReason"><c>stop</c> at end-of-text, <c>length</c> at the token limit.</param>
public sealed record GenerationResult(string Text, int OutputTokens, string FinishReason);
