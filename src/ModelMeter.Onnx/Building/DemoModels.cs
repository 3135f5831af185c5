using ModelMeter.Onnx.Tokenization;

namespace ModelMeter.Onnx.Building;

/// <summary>
/// The three demo models of the embedded default: GPT-2-shaped decoders with seeded random weights,
/// written in the layout of an Optimum export so the real loading path runs. Their text is noise.
/// </summary>
public static class DemoModels
{
    /// <summary>Demo model names and shapes, smallest first.</summary>
    public static IReadOnlyDictionary<string, Gpt2Config> Configs { get; } = new Dictionary<string, Gpt2Config>
    {
        ["demo-small"] = new(Layers: 2, Heads: 2, Width: 64),
        ["demo-medium"] = new(Layers: 8, Heads: 5, Width: 320),
        ["demo-large"] = new(Layers: 12, Heads: 8, Width: 512),
    };

    /// <summary>Whether <paramref name="name"/> is one of the demo models.</summary>
    public static bool IsDemo(string name) => Configs.ContainsKey(name);

    /// <summary>
    /// Writes demo model <paramref name="name"/> into <paramref name="directory"/> (model.onnx, vocab.json,
    /// merges.txt, config.json) unless a model.onnx is already there (a demo model of an earlier graph is written again; a
    /// model.onnx that this class did not write is never touched).
    /// Returns whether it wrote anything.
    /// </summary>
    public static bool EnsureWritten(string name, string directory) =>
        EnsureWritten(Configs[name], directory, withPast: true, seed: StableSeed(name), name);

    /// <summary>Marks in config.json a model this class wrote (every version has): only such a model is ever written again.</summary>
    private const string DemoMark = "\"modelmeter_demo\":";

    /// <summary>Marks in config.json the version of <see cref="Gpt2GraphWriter"/>'s graph a model was written with.</summary>
    private const string GraphVersionMark = "\"modelmeter_graph\":4";

    /// <summary>Writes a GPT-2-shaped model of any shape; used by tests and benchmarks.</summary>
    /// <param name="config">Its shape.</param>
    /// <param name="directory">Where it is written.</param>
    /// <param name="withPast">Whether it takes a key/value cache.</param>
    /// <param name="seed">Of its random weights.</param>
    /// <param name="name">Its name in config.json.</param>
    /// <param name="wholePresents">Presents as an Optimum export has them (past and new positions concatenated), instead of
    /// the new positions only: the path a user's exported model takes.</param>
    public static bool EnsureWritten(Gpt2Config config, string directory, bool withPast, int seed, string name = "custom", bool wholePresents = false)
    {
        var modelPath = Path.Combine(directory, "model.onnx");
        var configPath = Path.Combine(directory, "config.json");
        // A model written by an earlier version of the graph (one that projected every position, one whose presents
        // concatenated the whole cache, or one that scaled the scores rather than the queries) is written again; the new
        // file replaces it by a rename, so a server loading it meanwhile reads one whole file or the other.
        var written = File.Exists(configPath) ? File.ReadAllText(configPath) : "";
        if (File.Exists(modelPath) && !written.Contains(DemoMark, StringComparison.Ordinal))
        {
            return false; // a model of someone else's (exported, or configured under a demo name): never written over
        }

        var current = written.Contains(GraphVersionMark, StringComparison.Ordinal);
        if (File.Exists(modelPath) && current)
        {
            if (config.VocabularySize == Gpt2Config.Gpt2Vocabulary && (!File.Exists(Path.Combine(directory, "vocab.json")) || !File.Exists(Path.Combine(directory, "merges.txt"))))
            {
                Gpt2VocabularyWriter.Write(directory); // the weights are there, the tokenizer files went missing: only they are written again
            }

            return false;
        }

        Directory.CreateDirectory(directory);
        if (config.VocabularySize == Gpt2Config.Gpt2Vocabulary)
        {
            Gpt2VocabularyWriter.Write(directory);
        }

        File.WriteAllText(configPath,
            $$"""{"model_type":"gpt2","modelmeter_demo":"{{name}}",{{GraphVersionMark}},"note":"seeded random weights: the text is noise","n_layer":{{config.Layers}},"n_head":{{config.Heads}},"n_embd":{{config.Width}},"vocab_size":{{config.VocabularySize}},"n_positions":{{config.ContextLength}},"eos_token_id":{{Gpt2VocabularyWriter.EndOfTextId}}}""");

        // Write to a temporary name first so a crash never leaves a half-written model behind.
        var partial = modelPath + ".partial";
        using (var stream = File.Create(partial))
        {
            Gpt2GraphWriter.Write(Gpt2Weights.Random(config, seed), withPast, stream, wholePresents);
        }

        File.Move(partial, modelPath, overwrite: true);
        return true;
    }

    private static int StableSeed(string name) => name.Aggregate(17, (hash, c) => unchecked(hash * 31 + c));
}
