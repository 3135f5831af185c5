using ModelMeter.AspNetCore.Ledger;

namespace ModelMeter.AspNetCore.Tests.Ledger;

public sealed class PrometheusTextTests
{
    private const string Vllm = """
        # HELP vllm:num_requests_running Number of requests currently running on GPU.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
        vllm:num_requests_running{model_name="other}\"quoted"} 2
        vllm:num_requests_running_total 100
        vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
        """;

    [Fact]
    public void Sum_OverEverySeriesOfTheMetric_NotOfMetricsSharingItsPrefix() =>
        Assert.Equal(5, PrometheusText.Sum(Vllm, "vllm:num_requests_running"));

    [Fact]
    public void Sum_UnlabelledGaugeWithTimestamp_ReadsTheValue() =>
        Assert.Equal(4, PrometheusText.Sum("tgi_batch_current_size 4 1732960000000\n", "tgi_batch_current_size"));

    [Fact]
    public void Sum_MetricAbsent_IsNull_NotZero() =>
        Assert.Null(PrometheusText.Sum(Vllm, "tgi_batch_current_size"));

    [Theory]
    [InlineData("m NaN\n")]
    [InlineData("m +Inf\n")]
    [InlineData("m{a=\"1\" 3\n")]
    public void Sum_ValuesThatAreNotCounts_AreSkipped(string text) =>
        Assert.Null(PrometheusText.Sum(text, "m"));

    [Fact]
    public void Sum_SamplesTooLargeToAdd_IsInfinity_WhichTheSamplerRefuses() =>
        Assert.Equal(double.PositiveInfinity, PrometheusText.Sum("m{a=\"1\"} 1e308\nm{a=\"2\"} 1e308\n", "m"));
}
