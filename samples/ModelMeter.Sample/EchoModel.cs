namespace ModelMeter.Sample;

/// <summary>Stands in for the team's own model: "generates" the prompt's words back, one token per word, with a little compute per token.</summary>
public sealed class EchoModel
{
    public static string[] Tokenize(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public async IAsyncEnumerable<string> GenerateAsync(string prompt, int maxTokens, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var word in Tokenize(prompt).Reverse().Take(maxTokens))
        {
            await Task.Delay(2, cancellationToken); // the device is busy
            yield return word;
        }
    }
}
