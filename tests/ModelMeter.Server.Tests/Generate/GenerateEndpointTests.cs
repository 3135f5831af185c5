using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace ModelMeter.Server.Tests.Generate;

[Collection(DemoServerCollection.Name)]
public sealed class GenerateEndpointTests(DemoServer demo)
{
    private static readonly string[] Models = ["demo-small", "demo-medium", "demo-large"];
    private readonly RunningServer _server = demo.Server;

    [Fact]
    public async Task Generate_SixteenConcurrentAcrossThreeModels_MetricsMatchResponsesAndCostsAddUpToBill()
    {
        var before = await _server.ScrapeAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var model = Models[i % 3];
            using var response = await _server.GenerateAsync(model, new { prompt = $"Request {i}: where did the money go?", max_tokens = 8 + i });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            // The headers say what the body says, as on the OpenAI routes.
            Assert.Equal(body.GetProperty("request_id").GetString(), response.Headers.GetValues("X-Request-Id").Single());
            Assert.Equal(body.GetProperty("estimated_cost_usd").GetDouble(),
                double.Parse(response.Headers.GetValues("X-ModelMeter-Cost-Usd").Single(), System.Globalization.CultureInfo.InvariantCulture));
            return body;
        }));
        var after = await _server.ScrapeAsync();

        foreach (var model in Models)
        {
            var mine = responses.Where(r => r.GetProperty("model").GetString() == model).ToArray();
            Assert.Equal(mine.Length, Delta(before, after, $"model_request_total{{model_name=\"{model}\",endpoint=\"generate\"}}"));
            Assert.Equal(mine.Sum(r => r.GetProperty("input_tokens").GetInt32()), Delta(before, after, $"model_tokens_total{{model_name=\"{model}\",direction=\"input\"}}"));
            Assert.Equal(mine.Sum(r => r.GetProperty("output_tokens").GetInt32()), Delta(before, after, $"model_tokens_total{{model_name=\"{model}\",direction=\"output\"}}"));
            var cost = mine.Sum(r => r.GetProperty("estimated_cost_usd").GetDouble());
            Assert.True(cost > 0);
            Assert.InRange(Math.Abs(Delta(before, after, $"model_estimated_cost_dollars_total{{model_name=\"{model}\"}}") - cost) / cost, 0, 1e-9);
            Assert.Equal(0, after[$"model_inflight_requests{{model_name=\"{model}\"}}"]);
        }

        var modelCosts = Models.Sum(m => after[$"model_estimated_cost_dollars_total{{model_name=\"{m}\"}}"]);
        var idle = after["device_idle_cost_dollars_total{device=\"cpu\"}"];
        var bill = after["device_cost_dollars_total{device=\"cpu\"}"];
        Assert.InRange(Math.Abs(modelCosts + idle - bill) / bill, 0, 1e-9);
        Assert.All(responses, r => Assert.StartsWith("req_", r.GetProperty("request_id").GetString()));
    }

    [Theory]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": 0}", "max_tokens")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": -5}", "max_tokens")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": 513}", "max_tokens")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": 99999999999}", "max_tokens")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": \"ten\"}", "max_tokens")]
    [InlineData("{\"prompt\": \"hi\", \"max_tokens\": \"10\"}", "max_tokens")]
    [InlineData("{\"prompt\": 42}", "prompt")]
    [InlineData("{\"max_tokens\": 5}", "prompt")]
    [InlineData("{\"prompt\": \"\"}", "prompt")]
    [InlineData("{\"prompt\": \"   \"}", "prompt")]
    [InlineData("{\"prompt\": \"hi\", \"temperature\": -1}", "temperature")]
    [InlineData("{\"prompt\": \"hi\", \"top_p\": 0}", "top_p")]
    [InlineData("{\"prompt\": \"hi\"", "body")]
    [InlineData("not json", "body")]
    [InlineData("", "body")]
    [InlineData("[1, 2]", "body")]
    [InlineData("null", "body")]
    [InlineData("{\"prompt\": \"a\\ud800b\"}", "prompt")] // an escaped surrogate without its pair: not text
    [InlineData("{\"prompt\": \"a\\udfffb\"}", "prompt")]
    [InlineData("{\"\\ud800\": 1, \"prompt\": \"hi\"}", "body")] // a name that is not text
    [InlineData("{\"prompt\": \"hi\", \"max_token\": 5}", "max_token")] // misspelt: it was answered with the default 50 tokens
    [InlineData("{\"prompt\": \"hi\", \"stop\": \"\\n\"}", "stop")] // an OpenAI field this route does not read
    [InlineData("{\"model\": \"demo-small\", \"prompt\": \"hi\"}", "model")]
    public async Task Generate_BadInput_Returns400ProblemNamingTheField(string body, string field)
    {
        using var response = await _server.Client.PostAsync("/v1/generate/demo-small", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Contains(field == "body" ? "JSON" : field, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Generate_UnknownModel_Returns404AndCreatesNoSeries()
    {
        using var response = await _server.GenerateAsync("gpt-nope", new { prompt = "hi", max_tokens = 5 });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(await _server.Client.GetStringAsync("/metrics"), "gpt-nope");
    }

    [Fact]
    public async Task Generate_BodyOverOneMebibyte_Returns413()
    {
        var prompt = new string('a', 1024 * 1024 + 10);

        using var response = await _server.GenerateAsync("demo-small", new { prompt, max_tokens = 5 });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Generate_ChunkedBodyOverLimit_Returns413()
    {
        var chunks = new PushStreamContentOfSize(1024 * 1024 + 4096);

        using var response = await _server.Client.PostAsync("/v1/generate/demo-small", chunks);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("br")]
    [InlineData("deflate")]
    public async Task Generate_CompressedBody_ReadAsTheSameRequest(string encoding)
    {
        var json = """{"prompt": "Compressed or not, the same request.", "max_tokens": 6, "temperature": 0}""";
        using var plain = await PostAsync(Encoding.UTF8.GetBytes(json), null);
        using var compressed = await PostAsync(Compress(Encoding.UTF8.GetBytes(json), encoding), encoding);

        Assert.Equal(HttpStatusCode.OK, compressed.StatusCode);
        await AssertSameAnswerAsync(plain, compressed);
    }

    [Fact]
    public async Task Generate_CompressedBodyOverTheLimitOnceDecompressed_Returns413()
    {
        // About 2 KB on the wire, 2 MiB once read: the limit holds for what the body decompresses to.
        var json = $$"""{"prompt": "{{new string('a', 2 * 1024 * 1024)}}", "max_tokens": 2}""";
        var gzip = Compress(Encoding.UTF8.GetBytes(json), "gzip");
        Assert.InRange(gzip.Length, 1, 64 * 1024);

        using var response = await PostAsync(gzip, "gzip");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("1048576 bytes", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("gzip", HttpStatusCode.BadRequest, "could not be decompressed")] // bytes that are not gzip
    [InlineData("compress", HttpStatusCode.UnsupportedMediaType, "Content-Encoding: compress")] // an encoding nobody here decodes
    public async Task Generate_BodyNotWhatItsEncodingSays_AProblemNamingIt(string encoding, HttpStatusCode status, string said)
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes("""{"prompt": "hi", "max_tokens": 2}"""), encoding);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(said, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/v1/generate/demo-small", "application/problem+json")]
    [InlineData("/v1/chat/completions", "application/json")]
    public async Task BodyStopsShortOfItsContentLength_Answers408_NotA500(string path, string mediaType)
    {
        // A client that says 100 bytes, sends 12 and then nothing: Kestrel's minimum data rate gives up after its grace period.
        var address = _server.Client.BaseAddress!;
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"prompt\": \"a"));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var answer = await reader.ReadLineAsync(deadline.Token);
        var headers = new List<string>();
        while (await reader.ReadLineAsync(deadline.Token) is { Length: > 0 } header)
        {
            headers.Add(header);
        }

        Assert.Equal("HTTP/1.1 408 Request Timeout", answer);
        Assert.Contains(headers, h => h.StartsWith($"Content-Type: {mediaType}", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Generate_PromptOverContext_Returns400NamingPrompt()
    {
        var prompt = string.Concat(Enumerable.Repeat("word ", 1000));

        using var response = await _server.GenerateAsync("demo-small", new { prompt, max_tokens = 100 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("prompt", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Generate_NonAsciiPrompt_CountsItsTokens()
    {
        using var response = await _server.GenerateAsync("demo-small", new { prompt = "Grüße aus 日本 🚀", max_tokens = 4 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("input_tokens").GetInt32() >= 8);
        Assert.Equal(4, body.GetProperty("output_tokens").GetInt32());
    }

    [Theory]
    [InlineData("99999999999", "max_tokens is 99999999999; it must be a whole number from -2147483648 to 2147483647.")]
    [InlineData("5.0", "max_tokens must be a whole number, written without a fraction or exponent, not 5.0.")]
    [InlineData("1e3", "max_tokens must be a whole number, written without a fraction or exponent, not 1e3.")]
    public async Task Generate_MaxTokensNotAnInt_SaysWhatWasSent(string sent, string detail)
    {
        using var response = await _server.Client.PostAsync("/v1/generate/demo-small",
            new StringContent($"{{\"prompt\": \"hi\", \"max_tokens\": {sent}}}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(detail, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Generate_PromptBytesNotUtf8_Returns400NamingPrompt()
    {
        byte[] body = [.. "{\"prompt\": \"a"u8, 0xFF, (byte)'b', 0xED, 0xA0, 0x80, .. "\"}"u8]; // a stray byte, and a surrogate encoded as UTF-8
        using var content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } };

        using var response = await _server.Client.PostAsync("/v1/generate/demo-small", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("prompt", problem.GetProperty("field").GetString());
        Assert.Contains("not valid Unicode", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Generate_EscapedText_ReadAsTheSameText()
    {
        // "Grüße 🚀" as a client that escapes everything not ASCII sends it (Python's json.dumps does): a surrogate pair.
        using var escaped = await _server.Client.PostAsync("/v1/generate/demo-small", new StringContent(
            "{\"prompt\": \"Gr\\u00fc\\u00dfe \\ud83d\\ude80\", \"max_tokens\": 3, \"temperature\": 0}", Encoding.UTF8, "application/json"));
        using var raw = await _server.GenerateAsync("demo-small", new { prompt = "Grüße 🚀", max_tokens = 3, temperature = 0 });

        Assert.Equal(HttpStatusCode.OK, escaped.StatusCode);
        await AssertSameAnswerAsync(raw, escaped);
    }

    [Fact]
    public async Task Generate_ClientDisconnects_StopsGenerationAndChargesDeviceTimeUsed()
    {
        // From a demo-large with nothing in flight (a request an earlier test of the shared server left still ending would
        // otherwise pass for this one below, and this one be cancelled before it used the device: failed once in eng/test.sh).
        var before = await WaitForAsync(s => s.GetValueOrDefault("model_inflight_requests{model_name=\"demo-large\"}") == 0);
        using var cancel = new CancellationTokenSource();
        var request = _server.GenerateAsync("demo-large", new { prompt = "a long story", max_tokens = 512 }, cancel.Token);

        // Leave once the request has been computed for a decode step (not after a fixed time, which a slow machine could spend
        // before it starts; nor as soon as it is in flight, which under load can come before the model's first turn for it,
        // when it has had no device work to be charged for).
        const string steps = "model_batch_size_count{model_name=\"demo-large\"}";
        await WaitForAsync(s => s["model_inflight_requests{model_name=\"demo-large\"}"] == 1 && s.GetValueOrDefault(steps) > before.GetValueOrDefault(steps));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        // Its error and nothing in flight, in one scrape: a scrape brings the cost up to date before it writes the error
        // counter, so a request ending in between shows its error there without its cost (the next scrape has both).
        const string closed = "model_request_errors_total{model_name=\"demo-large\",endpoint=\"generate\",reason=\"client_closed\"}";
        var after = await WaitForAsync(s => s.GetValueOrDefault(closed) > before.GetValueOrDefault(closed)
            && s["model_inflight_requests{model_name=\"demo-large\"}"] == 0);
        var tokens = Delta(before, after, "model_tokens_total{model_name=\"demo-large\",direction=\"output\"}");
        Assert.InRange(tokens, 0, 511); // stopped before the 512 it asked for
        Assert.True(Delta(before, after, "model_estimated_cost_dollars_total{model_name=\"demo-large\"}") > 0);
        Assert.Equal(0, Delta(before, after, "model_request_total{model_name=\"demo-large\",endpoint=\"generate\"}"));
    }

    private async Task<Dictionary<string, double>> WaitForAsync(Func<Dictionary<string, double>, bool> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            var samples = await _server.ScrapeAsync();
            if (condition(samples))
            {
                return samples;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("The metrics never showed the expected change.");
    }

    private static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string key) =>
        after.GetValueOrDefault(key) - before.GetValueOrDefault(key);

    /// <summary>A body of a given size sent without Content-Length (chunked), so only the server's read limit can stop it.</summary>
    private sealed class PushStreamContentOfSize : HttpContent
    {
        private readonly int _size;

        public PushStreamContentOfSize(int size)
        {
            _size = size;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 4096));
            await stream.WriteAsync(Encoding.ASCII.GetBytes("{\"prompt\": \""));
            for (var sent = 0; sent < _size; sent += chunk.Length)
            {
                await stream.WriteAsync(chunk);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The same request read two ways: the same prompt tokens, and (greedy) the same text.</summary>
    private static async Task AssertSameAnswerAsync(HttpResponseMessage expected, HttpResponseMessage actual)
    {
        var (first, second) = (await expected.Content.ReadFromJsonAsync<JsonElement>(), await actual.Content.ReadFromJsonAsync<JsonElement>());
        Assert.Equal(first.GetProperty("input_tokens").GetInt32(), second.GetProperty("input_tokens").GetInt32());
        Assert.Equal(first.GetProperty("text").GetString(), second.GetProperty("text").GetString());
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] body, string? encoding)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }

        return await _server.Client.PostAsync("/v1/generate/demo-small", content);
    }

    private static byte[] Compress(byte[] bytes, string encoding)
    {
        using var buffer = new MemoryStream();
        using (Stream compressor = encoding switch
        {
            "gzip" => new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Optimal),
            "br" => new System.IO.Compression.BrotliStream(buffer, System.IO.Compression.CompressionLevel.Optimal),
            _ => new System.IO.Compression.ZLibStream(buffer, System.IO.Compression.CompressionLevel.Optimal), // HTTP's deflate is zlib
        })
        {
            compressor.Write(bytes);
        }

        return buffer.ToArray();
    }
}
