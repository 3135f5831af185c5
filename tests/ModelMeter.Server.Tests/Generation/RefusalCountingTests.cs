using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": \"hi\", \"user\": \"(idle) cpu\"}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": \"hi\", \"user\": \"bell\\u0007\"}", HttpStatusCode.BadRequest, "bad_request")]
    [InlineData("/v1/generate/demo-small", "generate", "{\"prompt\": \"hi\", \"max_tokens\": 1, \"max_tokens\": 900}", HttpStatusCode.BadRequest, "bad_request")]
    public async Task Refusal_OfAKnownModel_CountedOnce(string route, string endpoint, string body, HttpStatusCode status, string reason)
    {
        var series = $"model_request_errors_total{{model_name=\"demo-small\",endpoint=\"{endpoint}\",reason=\"{reason}\"}}";
        var before = (await _server.ScrapeAsync())[series];

        using var response = await _server.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(before + 1, (await _server.ScrapeAsync())[series]);
    }

    [Fact]
    public async Task HostileSizes_RefusedBeforeTokenizingNamingTheField()
    {
        var longPrompt = new string('x', 1024 * 16 + 1); // over 16 characters per token of demo-small's 1024-token context
        var manyMessages = Enumerable.Range(0, 257).Select(_ => new { role = "user", content = "a" }).ToArray();
        var longUser = new string('u', 129);

        using var prompt = await _server.Client.PostAsJsonAsync("/v1/completions", new { model = "demo-small", prompt = longPrompt });
        using var messages = await _server.Client.PostAsJsonAsync("/v1/chat/completions", new { model = "demo-small", messages = manyMessages });
        using var user = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "hi" }) };
        user.Headers.Add("X-User", longUser);
        using var userResponse = await _server.Client.SendAsync(user);

        Assert.Contains("16385 characters; at most 16384", await ErrorAsync(prompt));
        Assert.Contains("257 messages; at most 256", await ErrorAsync(messages));
        Assert.Equal(HttpStatusCode.BadRequest, userResponse.StatusCode);
        Assert.Equal("X-User", (await userResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!;
    }

    [Fact]
    public async Task TooLargeBody_CountedOnceAsTooLarge()
    {
        const string series = "model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"too_large\"}";
        var before = (await _server.ScrapeAsync())[series];

        // Expect: 100-continue, as clients sending large bodies do: the server refuses on Content-Length before the body
        // is sent (without it the refusal can race the upload and the client sees a broken pipe instead of the 413).
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small")
        {
            Content = new StringContent("{\"prompt\": \"" + new string('x', 2 * 1024 * 1024) + "\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(before + 1, (await _server.ScrapeAsync())[series]);
    }
}
