namespace ModelMeter.Onnx.Generation;

/// <summary>Picks the next token from logits: greedy at temperature 0, else temperature and top-p sampling.</summary>
internal sealed class TokenSampler
{
    private readonly double _temperature;
    private readonly double _topP;
    private readonly Random? _random;
    private int[] _order = [];
    private double[] _probabilities = [];

    public TokenSampler(double temperature, double topP, int? seed)
    {
        _temperature = temperature;
        _topP = topP;
        _random = temperature > 0 ? (seed is { } s ? new Random(s) : new Random()) : null;
    }

    public int Next(ReadOnlySpan<float> logits) => _random is null ? ArgMax(logits) : Sample(logits, _random);

    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    private int Sample(ReadOnlySpan<float> logits, Random random)
    {
        if (_order.Length != logits.Length)
        {
            _order = new int[logits.Length];
            _probabilities = new double[logits.Length];
        }

        var max = logits[ArgMax(logits)];
        var sum = 0.0;
        for (var i = 0; i < logits.Length; i++)
        {
            _probabilities[i] = Math.Exp((logits[i] - max) / _temperature);
            sum += _probabilities[i];
            _order[i] = i;
        }

        // Most likely first; keep the smallest prefix whose mass reaches top-p, then draw within it.
        var probabilities = _probabilities;
        Array.Sort(_order, (a, b) => probabilities[b].CompareTo(probabilities[a]));
        var kept = 0;
        var mass = 0.0;
        while (kept < _order.Length && (kept == 0 || mass < _topP * sum))
        {
            mass += probabilities[_order[kept++]];
        }

        var draw = random.NextDouble() * mass;
        for (var i = 0; i < kept; i++)
        {
            draw -= probabilities[_order[i]];
            if (draw <= 0)
            {
                return _order[i];
            }
        }

        return _order[kept - 1];
    }
}
