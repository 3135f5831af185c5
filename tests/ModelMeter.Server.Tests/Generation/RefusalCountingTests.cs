using System.Net;
using System.Text;

namespace ModelMeter.Server.Tests.Generation;

/// <summary>Every refusal of a known model's request is counted exactly once in <c>model_request_errors_total</c>, whatever the route.</summary>
[Collection(DemoServerCollection.Name)]
public sealed class RefusalCountingTests(DemoServer demo)
{
    private readonly RunningServer _server = demo.Server;

    [Theory]
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": \"hi\", \"max_tokens\": 0}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": ", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": \"   \"}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/completions", "completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"temperature\": 9}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/completions", "completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/chat/completions", "chat_completions", "{\"model\": \"demo-small\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": -5}", HttpStatusCode.BadRequest, "bad_request")]
    public async Task Refusal_OfAKnownModel_CountedOnce(string route, string endpoint, string body, HttpStatusCode status, string reason)
    {
        var series = $"model_request_errors_total{{model_name=\"demo-small\",endpoint=\"{endpoint}\",reason=\"{reason}\"}}";
        var before = (await _server.ScrapeAsync())[series];

        using var response = await _server.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(before + 1, (await _server.ScrapeAsync())[series]);
    }

    [Fact]
    public async Task TooLargeBody_CountedOnceAsTooLarge()
    {
        const string series = "model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"too_large\"}";
        var before = (await _server.ScrapeAsync())[series];

        using var response = await _server.Client.PostAsync("/v1/generate/demo-small",
            new StringContent("{\"prompt\": \"" + new string('x', 2 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(before + 1, (await _server.ScrapeAsync())[series]);
    }
}
