using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Http;

/// <summary>How bodies are read on every POST route: JSON only, and errors in the client's words.</summary>
[Collection(DemoServerCollection.Name)]
public sealed class RequestBodyTests(DemoServer demo)
{
    private readonly RunningServer _server = demo.Server;

    [Theory]
    [InlineData("/v1/generate/demo-small", "text/plain")]
    [InlineData("/v1/chat/completions", "text/plain")]
    [InlineData("/v1/completions", "application/x-www-form-urlencoded")]
    public async Task NotJson_Answers415(string route, string mediaType)
    {
        using var response = await _server.Client.PostAsync(route, new StringContent("{\"model\": \"demo-small\", \"prompt\": \"hi\"}", Encoding.UTF8, mediaType));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData("/v1/generate/demo-small", "{\"prompt\": \"hi\", \"max_tokens\": \"10\"}", "max_tokens must be a whole number")]
    [InlineData("/v1/generate/demo-small", "{\"prompt\": 12}", "prompt must be a string")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"temperature\": \"hot\"}", "temperature must be a number")]
    [InlineData("/v1/completions", "{\"model\": \"demo-small\", \"prompt\": \"hi\", \"stream\": \"yes\"}", "stream must be true or false")]
    public async Task WrongType_NamesTheFieldAndWhatItMustBe_WithoutDotNetTypes(string route, string body, string expected)
    {
        using var response = await _server.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, text);
        Assert.DoesNotContain("System.", text);
    }
}
