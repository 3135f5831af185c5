using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ModelMeter.IntegrationTests.Library;

/// <summary>The library sample (<c>samples/ModelMeter.Sample</c>), run as its own process: a team's own endpoint, metered by a scope.</summary>
public sealed class SampleAppTests : IAsyncLifetime
{
    private string _contentRoot = null!;
    private ServerProcess _app = null!;

    public async Task InitializeAsync()
    {
        _contentRoot = Directory.CreateTempSubdirectory("modelmeter-sample-").FullName;
        File.Copy(Repository.PathOf("samples", "ModelMeter.Sample", "appsettings.json"), Path.Combine(_contentRoot, "appsettings.json"));
        _app = await ServerProcess.StartAsync(_contentRoot, new Dictionary<string, string?>(), SampleAssembly(), readyPath: "/modelmeter/readyz");
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }

    [Fact]
    public async Task OwnEndpoint_MeteredByScope_ShowsInMetricsLedgerAndCostApi()
    {
        await _app.Client.GetStringAsync("/modelmeter/metrics"); // the first scrape starts prometheus-net's meter adapter
        var answers = new List<JsonElement>();
        foreach (var text in new[] { "where did the money go", "which model ate eighty percent of the bill", "Grüße 日本 🚀" })
        {
            using var response = await _app.Client.PostAsJsonAsync("/summarize", new { text, maxTokens = 5 });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadFromJsonAsync<JsonElement>());
        }

        var metrics = await _app.Client.GetStringAsync("/modelmeter/metrics");
        Assert.Contains("model_request_total{model_name=\"echo\",endpoint=\"summarize\"} 3", metrics);
        Assert.Contains("model_tokens_total{model_name=\"echo\",direction=\"output\"} 13", metrics); // 5 + 5 + 3 words
        Assert.DoesNotContain("modelmeter_gen_ai", metrics); // the sample keeps the adapter off ModelMeter's GenAI meter, as the README says
        var costs = answers.Sum(a => a.GetProperty("cost_usd").GetDouble());
        Assert.True(costs > 0);
        Assert.Equal(costs, Sample(metrics, "model_estimated_cost_dollars_total{model_name=\"echo\"}"), 12);

        var rows = Rows("SELECT request_id, endpoint, input_tokens, output_tokens, cost_usd, device FROM requests ORDER BY id");
        Assert.Equal(answers.Select(a => a.GetProperty("request_id").GetString()), rows.Select(r => r.Id));
        Assert.Equal([(5, 5), (8, 5), (3, 3)], rows.Select(r => (r.In, r.Out)));
        Assert.All(rows, r => Assert.Equal(("summarize", "gpu0"), (r.Endpoint, r.Device)));

        var summary = await _app.Client.GetFromJsonAsync<JsonElement>("/modelmeter/api/costs/summary?by=model");
        var echo = summary.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("key").GetString() == "echo");
        Assert.Equal(costs, echo.GetProperty("cost_usd").GetDouble(), 12);
    }

    [Fact]
    public async Task OwnEndpoint_MeteredByTheFilter_CompletesServedAndFailsRefused()
    {
        using var served = await _app.Client.PostAsJsonAsync("/echo", new { text = "who ate the budget", maxTokens = 3 });
        using var refused = await _app.Client.PostAsJsonAsync("/echo", new { text = " " });

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var metrics = await _app.Client.GetStringAsync("/modelmeter/metrics");
        Assert.Contains("model_request_total{model_name=\"echo\",endpoint=\"echo\"} 1", metrics);
        Assert.Contains("model_request_errors_total{model_name=\"echo\",endpoint=\"echo\",reason=\"bad_request\"} 1", metrics);
        var id = (await served.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("request_id").GetString();
        var rows = Rows("SELECT request_id, endpoint, input_tokens, output_tokens, cost_usd, device FROM requests WHERE endpoint = 'echo' ORDER BY id");
        Assert.Equal([(id!, 4, 3)], rows.Where(r => r.Out > 0).Select(r => (r.Id, r.In, r.Out)));
        Assert.Equal(2, rows.Count); // the refused one used its device for a moment and is recorded as failed
    }

    [Fact]
    public async Task OwnEndpoint_UnknownTenantHeader_RefusedByTheScopeWithAProblem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/summarize") { Content = JsonContent.Create(new { text = "hello there" }) };
        request.Headers.Add("X-Tenant", "not a valid name!");
        using var response = await _app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("model_request_errors_total{model_name=\"echo\",endpoint=\"summarize\",reason=\"bad_request\"} 1", await _app.Client.GetStringAsync("/modelmeter/metrics"));
    }

    [Fact]
    public async Task Dashboard_UnderThePrefix_RedirectsToTheSlashAndServesItsFiles()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false };
        using var client = new HttpClient(handler) { BaseAddress = _app.Client.BaseAddress };

        using var redirect = await client.GetAsync("/modelmeter");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/modelmeter/", redirect.Headers.Location?.OriginalString);
        using var page = await client.GetAsync("/modelmeter/");
        Assert.Contains("ui/app.js", await page.Content.ReadAsStringAsync());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("api/costs/summary", await client.GetStringAsync("/modelmeter/ui/app.js"));

        // HEAD, as an uptime probe or a link checker sends it: the headers of the GET, no body.
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/modelmeter/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/html", head.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        using var headScript = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/modelmeter/ui/app.js"));
        Assert.Equal(HttpStatusCode.OK, headScript.StatusCode);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task OwnEndpoints_ConcurrentLoadWithDisconnects_OneRowPerAnswer_AndRequestsPlusIdleEqualTheBill(int seed)
    {
        // Seeded: both metered routes at once, some clients leaving mid-answer, some asking nonsense. A failure names the seed.
        var random = new Random(seed);
        var plans = Enumerable.Range(0, 160).Select(i => (Echo: random.Next(2) == 0, Tokens: random.Next(1, 17), LeaveAfterMs: random.Next(4) == 0 ? random.Next(1, 20) : -1, Empty: random.Next(10) == 0)).ToArray();
        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        var next = -1;
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var i && i < plans.Length)
            {
                var plan = plans[i];
                using var leave = plan.LeaveAfterMs > 0 ? new CancellationTokenSource(plan.LeaveAfterMs) : new CancellationTokenSource();
                try
                {
                    using var response = await _app.Client.PostAsJsonAsync(
                        plan.Echo ? "/echo" : "/summarize", new { text = plan.Empty ? " " : $"request {i} über the bill 🚀 one two three four five six", maxTokens = plan.Tokens }, leave.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        answered.Add((await response.Content.ReadFromJsonAsync<JsonElement>(leave.Token)).GetProperty("request_id").GetString()!);
                    }
                }
                catch (OperationCanceledException)
                {
                    // The client left; the server may or may not have answered.
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        // Quiet: nothing in flight, then one scrape holds the bill, the idle part and every model's cost at one moment.
        string metrics;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Sample(metrics = await _app.Client.GetStringAsync("/modelmeter/metrics"), "model_inflight_requests{model_name=\"echo\"}") != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"seed {seed}: requests still in flight after 30 s");
            await Task.Delay(20);
        }

        var bill = Sample(metrics, "device_cost_dollars_total{device=\"gpu0\"}");
        var idle = Sample(metrics, "device_idle_cost_dollars_total{device=\"gpu0\"}");
        var requests = Sample(metrics, "model_estimated_cost_dollars_total{model_name=\"echo\"}");
        Assert.True(Math.Abs(requests + idle - bill) <= 1e-9 * Math.Max(bill, 1e-12), $"seed {seed}: requests {requests} + idle {idle} != bill {bill}");

        var rows = Rows("SELECT request_id, endpoint, input_tokens, output_tokens, cost_usd, device FROM requests ORDER BY id");
        var statuses = RowStatuses();
        Assert.Equal(rows.Count, rows.Select(r => r.Id).Distinct().Count()); // one final row per request
        Assert.DoesNotContain("provisional", statuses.Values);
        Assert.All(answered, id => Assert.Equal("ok", statuses.GetValueOrDefault(id))); // every answer delivered has its row
        Assert.True(answered.Count >= 80, $"seed {seed}: only {answered.Count} answers");
        Assert.Equal(requests, rows.Sum(r => r.Cost), 9); // the rows carry exactly the cost the meter counted
    }

    private static string SampleAssembly()
    {
        // This test's output is tests/ModelMeter.IntegrationTests/bin/<Configuration>/net10.0/linux-x64/; the sample's is the same below samples/.
        var output = Path.GetRelativePath(Repository.PathOf("tests", "ModelMeter.IntegrationTests"), AppContext.BaseDirectory);
        var assembly = Repository.PathOf("samples", "ModelMeter.Sample", output, "ModelMeter.Sample.dll");
        return File.Exists(assembly) ? assembly : throw new FileNotFoundException("Build the solution first: the sample is not built.", assembly);
    }

    private static double Sample(string metrics, string series) =>
        double.Parse(metrics.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], CultureInfo.InvariantCulture);

    private Dictionary<string, string> RowStatuses() =>
        LedgerFile.Rows(LedgerPath, "SELECT request_id, status FROM requests", r => (Id: r.GetString(0), Status: r.GetString(1))).ToDictionary(r => r.Id, r => r.Status);

    private List<(string Id, string Endpoint, int In, int Out, double Cost, string Device)> Rows(string sql) =>
        LedgerFile.Rows(LedgerPath, sql, r => (r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetDouble(4), r.GetString(5)));

    private string LedgerPath => Path.Combine(_contentRoot, "data", "ledger.db");
}
