using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelMeter.Metering;

/// <summary>
/// The OpenTelemetry GenAI semantic-convention histograms, through <see cref="System.Diagnostics.Metrics"/>,
/// for users who collect with OpenTelemetry instead of scraping Prometheus.
/// </summary>
public sealed class GenAiInstruments
{
    /// <summary>The meter name to subscribe to.</summary>
    public const string MeterName = "ModelMeter";

    private static readonly double[] DurationBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    private static readonly long[] TokenBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>Creates the histograms on <paramref name="meter"/>.</summary>
    public GenAiInstruments(Meter meter)
    {
        RequestDuration = meter.CreateHistogram("gen_ai.server.request.duration", "s", "Generative AI server request duration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBoundaries });
        TimeToFirstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time to generate the first token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBoundaries });
        TokenUsage = meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Input and output tokens used per request.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBoundaries });
    }

    /// <summary>
    /// Whether <paramref name="instrument"/> is not one of these (not on the <see cref="MeterName"/> meter): a filter for a
    /// listener that takes every meter, such as prometheus-net's meter adapter
    /// (<c>Metrics.ConfigureMeterAdapter(a => a.InstrumentFilterPredicate = GenAiInstruments.IsNotGenAi)</c>), so that
    /// requests do not pay to record again what ModelMeter's Prometheus series already count.
    /// </summary>
    public static bool IsNotGenAi(Instrument instrument) => instrument.Meter.Name != MeterName;

    /// <summary><c>gen_ai.server.request.duration</c>, seconds.</summary>
    public Histogram<double> RequestDuration { get; }

    /// <summary><c>gen_ai.server.time_to_first_token</c>, seconds.</summary>
    public Histogram<double> TimeToFirstToken { get; }

    /// <summary><c>gen_ai.client.token.usage</c>, tokens, with <c>gen_ai.token.type</c> input or output.</summary>
    public Histogram<long> TokenUsage { get; }

    internal void Record(string model, string? errorType, double durationSeconds, double? firstTokenSeconds, int inputTokens, int outputTokens)
    {
        if (!RequestDuration.Enabled && !TimeToFirstToken.Enabled && !TokenUsage.Enabled)
        {
            return; // nobody listens: no tags to build
        }

        var tags = new TagList
        {
            { "gen_ai.operation.name", "text_completion" },
            { "gen_ai.request.model", model },
        };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        RequestDuration.Record(durationSeconds, tags);
        if (firstTokenSeconds is { } firstToken)
        {
            TimeToFirstToken.Record(firstToken, tags);
        }

        if (TokenUsage.Enabled)
        {
            tags.Add("gen_ai.token.type", "input");
            TokenUsage.Record(inputTokens, tags);
            tags[tags.Count - 1] = new KeyValuePair<string, object?>("gen_ai.token.type", "output");
            TokenUsage.Record(outputTokens, tags);
        }
    }
}
