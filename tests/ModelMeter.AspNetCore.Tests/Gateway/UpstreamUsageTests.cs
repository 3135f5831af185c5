using System.Text.Json;
using ModelMeter.AspNetCore.Gateway;
using ModelMeter.Pricing;
using ModelMeter.Serving;

namespace ModelMeter.AspNetCore.Tests.Gateway;

/// <summary>An upstream's usage is read in each API's names and checked before it is charged: its details too.</summary>
public sealed class UpstreamUsageTests
{
    private static readonly Prompt Hello = Prompt.FromMessages([new ChatMessage("user", "Summarise the bill")]);

    [Theory]
    [InlineData("""{"prompt_tokens": 1200, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 50}, "completion_tokens_details": {"reasoning_tokens": 12}}""")]
    [InlineData("""{"input_tokens": 1200, "output_tokens": 300, "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 50}, "output_tokens_details": {"reasoning_tokens": 12}}""")]
    public void Read_ChatAndResponsesNames(string usage)
    {
        Assert.Equal(new ReportedUsage(1200, 300, 1000, 50, 12), UpstreamUsage.Read(JsonDocument.Parse(usage).RootElement));
    }

    [Fact]
    public void Read_DeepSeeksCacheHits_AndNoDetails()
    {
        Assert.Equal(new ReportedUsage(100, 5, 64), UpstreamUsage.Read(Json("""{"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36}""")));
        Assert.Equal(new ReportedUsage(100, 5), UpstreamUsage.Read(Json("""{"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": null}""")));
        Assert.Equal(new ReportedUsage(100, 5), UpstreamUsage.Read(Json("""{"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": "many"}}""")));
    }

    [Fact]
    public void Check_PlausibleDetails_KeptAsReported()
    {
        var usage = UpstreamUsage.Check(new ReportedUsage(1200, 300, 1000, 0, 12), Request(400), Hello, delivered: 3, Unused);

        Assert.Equal((1200, 300, false), (usage.InputTokens, usage.OutputTokens, usage.Estimated));
        Assert.Equal(new TokenDetails(1000, 0, 12), usage.Details);
    }

    [Fact]
    public void Check_DetailsBeyondTheirWhole_CutToIt_AndMarked()
    {
        var usage = UpstreamUsage.Check(new ReportedUsage(1200, 300, 5000, 900, 400), Request(400), Hello, delivered: 3, Unused);

        Assert.Equal(new TokenDetails(1200, 0, 300), usage.Details);
        Assert.True(usage.Estimated);

        var negative = UpstreamUsage.Check(new ReportedUsage(1200, 300, -5, -1, -2), Request(400), Hello, delivered: 3, Unused);
        Assert.Equal(default, negative.Details);
    }

    [Fact]
    public void Check_OutputClampedToTheLimit_ReasoningFollows()
    {
        var usage = UpstreamUsage.Check(new ReportedUsage(1200, 300, 0, 0, 250), Request(100), Hello, delivered: 3, Unused);

        Assert.Equal((100, 100L, true), (usage.OutputTokens, usage.Details.Reasoning, usage.Estimated));
    }

    [Fact]
    public void Check_Embeddings_NoOutputWhateverTheUpstreamSays()
    {
        var usage = UpstreamUsage.Check(new ReportedUsage(8, 50), Request(1) with { Api = RequestApi.Embeddings }, Prompt.FromText("a b"), delivered: 0, Unused);

        Assert.Equal((8, 0, false), (usage.InputTokens, usage.OutputTokens, usage.Estimated));
    }

    [Fact]
    public void Check_InputBound_IsTheBodySentPlusWhatAnUpstreamAdds_NeverTwoToThe31()
    {
        var fields = new Dictionary<string, JsonElement>
        {
            ["model"] = Json("\"m\""),
            ["messages"] = Json("""[{"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]"""),
        };
        var request = Request(10) with { ClientFields = fields };
        var bound = UpstreamUsage.MaxInputTokens(Hello, fields);

        // An image's tokens do not follow from its URL's bytes: a typical one (765 tokens) is within the bound.
        Assert.InRange(bound, 4096 + 32_768, 4096 + 32_768 + 400);
        Assert.Equal((1965, false), Charged(UpstreamUsage.Check(new ReportedUsage(1965, 5), request, Hello, 1, Unused)));
        Assert.Equal(((int)bound, true), Charged(UpstreamUsage.Check(new ReportedUsage(int.MaxValue, 5), request, Hello, 1, Unused)));
    }

    private static (int Input, bool Estimated) Charged(TokenUsage usage) => (usage.InputTokens, usage.Estimated);

    private static GenerationRequest Request(int maxTokens) => new(maxTokens);

    private static TokenUsage Unused() => throw new InvalidOperationException("The upstream's counts were usable; nothing should be estimated.");

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
