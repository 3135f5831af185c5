namespace ModelMeter.Onnx.Building;

/// <summary>
/// Writes a GPT-2-style decoder as ONNX with the input and output names of a Hugging Face Optimum
/// <c>text-generation-with-past</c> export: <c>input_ids</c>, <c>attention_mask</c>, <c>position_ids</c>,
/// <c>past_key_values.{i}.key|value</c> in; <c>logits</c>, <c>present.{i}.key|value</c> out. Unlike an export, <c>logits</c>
/// holds the last position only ([batch, 1, vocabulary]): the next token is all a caller reads. Unless written with whole
/// presents (as an export has them: past and new positions concatenated), each <c>present</c> holds the new positions only
/// and the model says so in its metadata (<see cref="PresentsKey"/>): the caller appends them to a cache with room to grow,
/// and passes that cache as the past, its free positions masked out. Copying every layer's whole cache into each step's
/// presents took a fifth of a 16-row decode step of demo-large (7-8 ms of a 36-41 ms step at 100 positions on a 2-core VM).
/// Without past, the graph has no cache inputs or outputs and attends over the whole sequence.
/// </summary>
internal sealed class Gpt2GraphWriter
{
    private readonly OnnxGraph _g = new();
    private readonly Gpt2Weights _w;
    private readonly bool _withPast;
    private readonly bool _appends; // presents hold the new positions only
    private readonly int _heads;
    private readonly int _headWidth;
    private string? _pastAndNew; // [past positions, new positions], where the appending graph splits its probabilities

    private Gpt2GraphWriter(Gpt2Weights weights, bool withPast, bool wholePresents)
    {
        _w = weights;
        _withPast = withPast;
        _appends = withPast && !wholePresents;
        _heads = weights.Config.Heads;
        _headWidth = weights.Config.HeadWidth;
    }

    /// <summary>The metadata key of a model whose presents hold the new positions only; its value is <see cref="NewPositions"/>.</summary>
    public const string PresentsKey = "modelmeter.presents";

    /// <summary>The value of <see cref="PresentsKey"/>.</summary>
    public const string NewPositions = "new-positions";

    public static void Write(Gpt2Weights weights, bool withPast, Stream stream, bool wholePresents = false)
    {
        var writer = new Gpt2GraphWriter(weights, withPast, wholePresents);
        writer.Build();
        if (writer._appends)
        {
            writer._g.Metadata(PresentsKey, NewPositions);
        }

        writer._g.WriteTo(stream, "gpt2");
    }

    private void Build()
    {
        var c = _w.Config;
        _g.Input("input_ids", TensorType.Int64, "batch_size", "sequence_length");
        _g.Input("attention_mask", TensorType.Int64, "batch_size", "total_sequence_length");
        _g.Input("position_ids", TensorType.Int64, "batch_size", "sequence_length");
        // Outputs in Optimum's order: logits, then present.0.key, present.0.value, ...
        _g.Output("logits", TensorType.Float, "batch_size", 1L, (long)c.VocabularySize);
        if (_withPast)
        {
            for (var i = 0; i < c.Layers; i++)
            {
                foreach (var kind in new[] { "key", "value" })
                {
                    _g.Input($"past_key_values.{i}.{kind}", TensorType.Float, "batch_size", (long)_heads, "past_sequence_length", (long)_headWidth);
                    _g.Output($"present.{i}.{kind}", TensorType.Float, "batch_size", (long)_heads, _appends ? "sequence_length" : "total_sequence_length", (long)_headWidth);
                }
            }
        }

        var wte = _g.Weight("transformer.wte.weight", _w.TokenEmbedding, c.VocabularySize, c.Width);
        var wpe = _g.Weight("transformer.wpe.weight", _w.PositionEmbedding, c.ContextLength, c.Width);
        var h = _g.Node("Add", [_g.Node("Gather", [wte, "input_ids"]), _g.Node("Gather", [wpe, "position_ids"])]);
        var allowed = AttentionMask();

        for (var i = 0; i < c.Layers; i++)
        {
            h = Block(i, h, allowed);
        }

        // Only the last position's logits are ever read (the next token): a prompt of n tokens would otherwise project all
        // n onto the vocabulary, which for demo-large is about as much work as the layers themselves.
        var last = _g.Node("Slice", [h, _g.Int64Constant([-1], 1), _g.Int64Constant([long.MaxValue], 1), _g.Int64Constant([1], 1)]);
        var normed = LayerNorm(last, "transformer.ln_f", _w.FinalNormScale, _w.FinalNormBias);
        // The output projection is tied to the token embedding; ONNX Runtime folds this transpose at load.
        var head = _g.Node("Transpose", [wte], null, NodeAttribute.Of("perm", 1L, 0L));
        _g.Node("MatMul", [normed, head], "logits");
    }

    /// <summary>[batch, 1, query, key] booleans: key position ≤ query position and not padding.</summary>
    private string AttentionMask()
    {
        var zero = _g.Int64Constant([0]);
        var one = _g.Int64Constant([1]);
        var total = _g.Node("Gather", [_g.Node("Shape", ["attention_mask"]), one], null, NodeAttribute.Of("axis", 0L));
        var past = _withPast
            ? _g.Node("Gather", [_g.Node("Shape", ["past_key_values.0.key"]), _g.Int64Constant([2])], null, NodeAttribute.Of("axis", 0L))
            : zero;
        var queryPositions = _g.Node("Unsqueeze", [_g.Node("Range", [past, total, one]), _g.Int64Constant([1], 1)]);
        var keyPositions = _g.Node("Range", [zero, total, one]);
        if (_appends)
        {
            // The sizes the probabilities split into: the past's positions and the new ones.
            var news = _g.Node("Gather", [_g.Node("Shape", ["input_ids"]), one], null, NodeAttribute.Of("axis", 0L));
            var asVector = _g.Int64Constant([1], 1);
            _pastAndNew = _g.Node("Concat", [_g.Node("Reshape", [past, asVector]), _g.Node("Reshape", [news, asVector])], null, NodeAttribute.Of("axis", 0L));
        }

        var causal = _g.Node("LessOrEqual", [keyPositions, queryPositions]);
        var notPadding = _g.Node("Unsqueeze", [
            _g.Node("Cast", ["attention_mask"], null, NodeAttribute.Of("to", (long)TensorType.Bool)),
            _g.Int64Constant([1, 2], 2)]);
        return _g.Node("And", [causal, notPadding]);
    }

    private string Block(int i, string h, string allowed)
    {
        var layer = _w.Layers[i];
        var d = _w.Config.Width;
        var p = $"transformer.h.{i}";

        var x = LayerNorm(h, $"{p}.ln_1", layer.Norm1Scale, layer.Norm1Bias);
        // The queries are scaled by 1/√(head width) as they come out of their projection, not the scores: ONNX Runtime
        // fuses a scale on the scores (or on the product's own inputs) into FusedMatMul's alpha, and MLAS multiplies a row
        // by the past keys about twice as slowly with an alpha (demo-large, 16 rows of 128 positions: 5.3 against 3.0 ms
        // a step). The weights stay as they are (bench/peers reads them). The scores are those of before to float
        // rounding (another kernel adds the products).
        var q = Heads(_g.Node("Mul", [Linear(x, $"{p}.attn.q", layer.Query, layer.QueryBias, d, d), _g.FloatScalar(1f / MathF.Sqrt(_headWidth))]));
        // The appending graph's presents are the new keys and values themselves.
        var k = Heads(Linear(x, $"{p}.attn.k", layer.Key, layer.KeyBias, d, d), _appends ? $"present.{i}.key" : null);
        var v = Heads(Linear(x, $"{p}.attn.v", layer.Value, layer.ValueBias, d, d), _appends ? $"present.{i}.value" : null);
        var (pastKey, pastValue) = ($"past_key_values.{i}.key", $"past_key_values.{i}.value");
        string attended;
        if (_appends)
        {
            // The past and the new positions are attended apart (scores side by side under one softmax), so that the past is
            // read where it lies instead of copied into a concatenation; the presents are the new positions alone.
            var scores = _g.Node("Concat", [Scores(q, pastKey), Scores(q, k)], null, NodeAttribute.Of("axis", -1L));
            var probabilities = Probabilities(scores, allowed);
            var (pastPart, newPart) = ($"{p}.attn.past_probabilities", $"{p}.attn.new_probabilities");
            _g.NodeMulti("Split", [probabilities, _pastAndNew!], [pastPart, newPart], NodeAttribute.Of("axis", -1L));
            attended = _g.Node("Add", [_g.Node("MatMul", [pastPart, pastValue]), _g.Node("MatMul", [newPart, v])]);
        }
        else
        {
            if (_withPast)
            {
                k = _g.Node("Concat", [pastKey, k], $"present.{i}.key", NodeAttribute.Of("axis", 2L));
                v = _g.Node("Concat", [pastValue, v], $"present.{i}.value", NodeAttribute.Of("axis", 2L));
            }

            attended = _g.Node("MatMul", [Probabilities(Scores(q, k), allowed), v]);
        }

        var context = _g.Node("Reshape", [
            _g.Node("Transpose", [attended], null, NodeAttribute.Of("perm", 0L, 2L, 1L, 3L)),
            _g.Int64Constant([0, 0, d], 3)]);
        h = _g.Node("Add", [h, Linear(context, $"{p}.attn.c_proj", layer.Projection, layer.ProjectionBias, d, d)]);

        var y = LayerNorm(h, $"{p}.ln_2", layer.Norm2Scale, layer.Norm2Bias);
        var up = Linear(y, $"{p}.mlp.c_fc", layer.Up, layer.UpBias, d, 4 * d);
        var down = Linear(Gelu(up), $"{p}.mlp.c_proj", layer.Down, layer.DownBias, 4 * d, d);
        return _g.Node("Add", [h, down]);
    }

    /// <summary>Queries times keys (the queries carry the 1/√(head width) scale).</summary>
    private string Scores(string q, string k) =>
        _g.Node("MatMul", [q, _g.Node("Transpose", [k], null, NodeAttribute.Of("perm", 0L, 1L, 3L, 2L))]);

    /// <summary>The scores, the disallowed ones masked out, softmax over the keys.</summary>
    private string Probabilities(string scores, string allowed) =>
        _g.Node("Softmax", [_g.Node("Where", [allowed, scores, _g.FloatScalar(-1e9f)])], null, NodeAttribute.Of("axis", -1L));

    private string LayerNorm(string x, string name, float[] scale, float[] bias) =>
        _g.Node("LayerNormalization", [x, _g.Weight($"{name}.weight", scale, scale.Length), _g.Weight($"{name}.bias", bias, bias.Length)],
            null, NodeAttribute.Of("axis", -1L), NodeAttribute.Of("epsilon", 1e-5f));

    private string Linear(string x, string name, float[] weight, float[] bias, int inputs, int outputs) =>
        _g.Node("Add", [_g.Node("MatMul", [x, _g.Weight($"{name}.weight", weight, inputs, outputs)]), _g.Weight($"{name}.bias", bias, outputs)]);

    /// <summary>[batch, seq, width] to [batch, heads, seq, head width], named <paramref name="output"/> if given.</summary>
    private string Heads(string x, string? output = null) =>
        _g.Node("Transpose", [_g.Node("Reshape", [x, _g.Int64Constant([0, 0, _heads, _headWidth], 4)])], output, NodeAttribute.Of("perm", 0L, 2L, 1L, 3L));

    /// <summary>The exact GELU: 0.5 × x × (1 + erf(x / √2)).</summary>
    private string Gelu(string x) =>
        _g.Node("Mul", [
            _g.Node("Mul", [x, _g.FloatScalar(0.5f)]),
            _g.Node("Add", [_g.Node("Erf", [_g.Node("Div", [x, _g.FloatScalar(MathF.Sqrt(2f))])]), _g.FloatScalar(1f)])]);
}
