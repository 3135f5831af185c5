using ModelMeter.Onnx.Building;

namespace ModelMeter.Onnx.Tests.Building;

/// <summary>GPT-2's forward pass written out in plain C#, to check the ONNX graph against.</summary>
internal static class ReferenceGpt2
{
    /// <summary>Logits [position, vocabulary] for <paramref name="ids"/> at positions 0..n-1.</summary>
    public static float[][] Logits(Gpt2Weights w, long[] ids)
    {
        var c = w.Config;
        var d = c.Width;
        var h = ids.Select((id, t) => Enumerable.Range(0, d).Select(i => w.TokenEmbedding[id * d + i] + w.PositionEmbedding[t * d + i]).ToArray()).ToArray();
        foreach (var layer in w.Layers)
        {
            var x = h.Select(row => Norm(row, layer.Norm1Scale, layer.Norm1Bias)).ToArray();
            var q = x.Select(row => Linear(row, layer.Query, layer.QueryBias)).ToArray();
            var k = x.Select(row => Linear(row, layer.Key, layer.KeyBias)).ToArray();
            var v = x.Select(row => Linear(row, layer.Value, layer.ValueBias)).ToArray();
            var context = Attention(q, k, v, c.Heads);
            for (var t = 0; t < h.Length; t++)
            {
                var projected = Linear(context[t], layer.Projection, layer.ProjectionBias);
                for (var i = 0; i < d; i++)
                {
                    h[t][i] += projected[i];
                }

                var up = Linear(Norm(h[t], layer.Norm2Scale, layer.Norm2Bias), layer.Up, layer.UpBias).Select(Gelu).ToArray();
                var down = Linear(up, layer.Down, layer.DownBias);
                for (var i = 0; i < d; i++)
                {
                    h[t][i] += down[i];
                }
            }
        }

        return h.Select(row =>
        {
            var normed = Norm(row, w.FinalNormScale, w.FinalNormBias);
            return Enumerable.Range(0, c.VocabularySize).Select(token => Enumerable.Range(0, d).Sum(i => normed[i] * w.TokenEmbedding[token * d + i])).ToArray();
        }).ToArray();
    }

    private static float[][] Attention(float[][] q, float[][] k, float[][] v, int heads)
    {
        var d = q[0].Length;
        var width = d / heads;
        var context = q.Select(_ => new float[d]).ToArray();
        for (var head = 0; head < heads; head++)
        {
            for (var t = 0; t < q.Length; t++)
            {
                var scores = new double[t + 1];
                for (var u = 0; u <= t; u++)
                {
                    scores[u] = Enumerable.Range(head * width, width).Sum(e => (double)q[t][e] * k[u][e]) / Math.Sqrt(width);
                }

                var max = scores.Max();
                var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                var sum = weights.Sum();
                for (var e = head * width; e < (head + 1) * width; e++)
                {
                    context[t][e] = (float)Enumerable.Range(0, t + 1).Sum(u => weights[u] / sum * v[u][e]);
                }
            }
        }

        return context;
    }

    private static float[] Norm(float[] x, float[] scale, float[] bias)
    {
        var mean = x.Average();
        var variance = x.Select(value => (value - mean) * (value - mean)).Average();
        return x.Select((value, i) => (float)((value - mean) / Math.Sqrt(variance + 1e-5)) * scale[i] + bias[i]).ToArray();
    }

    private static float[] Linear(float[] x, float[] weight, float[] bias)
    {
        var outputs = bias.Length;
        var y = (float[])bias.Clone();
        for (var i = 0; i < x.Length; i++)
        {
            for (var j = 0; j < outputs; j++)
            {
                y[j] += x[i] * weight[i * outputs + j];
            }
        }

        return y;
    }

    private static float Gelu(float x) => (float)(0.5 * x * (1 + Erf(x / Math.Sqrt(2))));

    // Abramowitz and Stegun 7.1.26 is too coarse for this comparison; a series and a continued fraction are not needed
    // either: |x| stays small here, so the Taylor series converges fast.
    private static double Erf(double x)
    {
        var sum = 0.0;
        var term = x;
        for (var n = 0; n < 60; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
