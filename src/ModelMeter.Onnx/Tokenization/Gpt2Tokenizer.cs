using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ModelMeter.Onnx.Tokenization;

/// <summary>
/// GPT-2's byte-level BPE tokenizer read from a model directory's <c>vocab.json</c> and <c>merges.txt</c>.
/// </summary>
public sealed partial class Gpt2Tokenizer
{
    private readonly BpeTokenizer _bpe;

    private Gpt2Tokenizer(BpeTokenizer bpe, int endOfTextId)
    {
        _bpe = bpe;
        EndOfTextId = endOfTextId;
    }

    /// <summary>The id that ends generation (<c>&lt;|endoftext|&gt;</c>).</summary>
    public int EndOfTextId { get; }

    /// <summary>Loads the tokenizer files of <paramref name="directory"/>.</summary>
    public static Gpt2Tokenizer Load(string directory)
    {
        var vocab = Path.Combine(directory, "vocab.json");
        var merges = Path.Combine(directory, "merges.txt");
        var special = new Dictionary<string, int>();
        var options = new BpeOptions(vocab, merges) { ByteLevel = true };
        var endOfText = options.Vocabulary.FirstOrDefault(kv => kv.Key == Gpt2VocabularyWriter.EndOfText);
        if (endOfText.Key is null)
        {
            throw new InvalidDataException($"{vocab} has no {Gpt2VocabularyWriter.EndOfText} token.");
        }

        special[endOfText.Key] = endOfText.Value;
        options.SpecialTokens = special;
        options.PreTokenizer = new RegexPreTokenizer(Gpt2Split(), special);
        return new Gpt2Tokenizer(BpeTokenizer.Create(options), endOfText.Value);
    }

    /// <summary>Token ids of <paramref name="text"/>.</summary>
    public IReadOnlyList<int> Encode(string text) => _bpe.EncodeToIds(text);

    /// <summary>The text of <paramref name="ids"/>; bytes that do not form whole characters come out as U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids) => _bpe.Decode(ids);

    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();
}
