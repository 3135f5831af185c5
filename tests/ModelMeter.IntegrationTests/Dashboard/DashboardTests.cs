using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace ModelMeter.IntegrationTests.Dashboard;

/// <summary>The built-in dashboard in Debian's real Chromium, driven by Playwright: each panel against the cost API.</summary>
public sealed class DashboardTests
{
    private static readonly string[] Models = ["demo-small", "demo-medium", "demo-large"];

    [Fact]
    public async Task Dashboard_AfterKnownTraffic_EachPanelShowsTheApisFigures_AndTheChartIsDrawn()
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Models:demo-small:ReferencePrice:InputPerMillion"] = "150";
        settings["ModelMeter:Models:demo-small:ReferencePrice:OutputPerMillion"] = "600";
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "50";
        await using var clock = new RunningClock();
        await using var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));
        foreach (var (model, i) in Models.Concat(Models).Select((m, i) => (m, i)))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/generate/{model}") { Content = JsonContent.Create(new { prompt = $"draw me {i}", max_tokens = 4 + i }) };
            request.Headers.Add("X-Tenant", i % 2 == 0 ? "acme" : "globex");
            (await server.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        using (var refused = await server.GenerateAsync("demo-small", new { prompt = "", max_tokens = 3 }))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode); // refused: no ledger row, counted by the server
        }

        await clock.StopAsync(); // no idle time accrues from here: the page and the test read the same figures

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var (page, errors) = await OpenAsync(browser, server, width: 1280);
        await page.WaitForSelectorAsync("#reference tbody tr[data-model]");

        // Who ate the budget: each share as the API's summary gives it.
        var summary = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model&idle=separate");
        var shares = await page.Locator("#summary tbody tr[data-key]").EvaluateAllAsync<Dictionary<string, string>>("rows => Object.fromEntries(rows.map(r => [r.dataset.key, r.dataset.share]))");
        var total = summary.GetProperty("total_usd").GetDouble();
        foreach (var row in summary.GetProperty("rows").EnumerateArray())
        {
            Assert.InRange(Math.Abs(double.Parse(shares[row.GetProperty("key").GetString()!], CultureInfo.InvariantCulture) - row.GetProperty("total_usd").GetDouble() / total), 0, 0.001);
        }

        // Self-hosting against the reference: cost per 1K output tokens as /api/costs/stats says.
        var stats = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/stats");
        foreach (var model in stats.GetProperty("models").EnumerateArray())
        {
            var row = page.Locator($"#reference tr[data-model='{model.GetProperty("model").GetString()}']");
            Assert.Equal(model.GetProperty("cost_per_1k_output_usd").GetDouble(), double.Parse((await row.GetAttributeAsync("data-per1k"))!, CultureInfo.InvariantCulture), 6);
        }

        var small = stats.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == "demo-small").GetProperty("reference");
        Assert.Equal(small.GetProperty("saved_usd").GetDouble(), double.Parse((await page.Locator("#reference tr[data-model='demo-small']").GetAttributeAsync("data-saved"))!, CultureInfo.InvariantCulture), 9);

        // Today per model, budgets, devices, GPU, latency.
        var midnight = await page.EvaluateAsync<string>("new Date(new Date().setHours(0, 0, 0, 0)).toISOString()");
        var today = await server.Client.GetFromJsonAsync<JsonElement>($"/api/costs/summary?by=model&from={Uri.EscapeDataString(midnight)}");
        foreach (var row in today.GetProperty("rows").EnumerateArray().Where(r => Models.Contains(r.GetProperty("key").GetString())))
        {
            var shown = await page.Locator($"#today-bars li[data-key='{row.GetProperty("key").GetString()}']").GetAttributeAsync("data-usd");
            Assert.Equal(row.GetProperty("total_usd").GetDouble(), double.Parse(shown!, CultureInfo.InvariantCulture), 9);
        }

        var spent = (await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/budgets")).GetProperty("budgets")[0].GetProperty("spent_usd").GetDouble();
        Assert.Equal(spent, double.Parse((await page.Locator("#budgets li[data-budget='daily']").GetAttributeAsync("data-spent"))!, CultureInfo.InvariantCulture), 9);
        Assert.Contains("No GPU", await page.Locator("#gpus").InnerTextAsync());
        Assert.Equal(3, await page.Locator("#latency-table tbody tr").CountAsync());
        Assert.Equal(1, await page.Locator("#device-bars li[data-device='cpu']").CountAsync());
        Assert.True(await page.Locator("#empty").IsHiddenAsync());
        Assert.StartsWith("Daily pace, last ", await page.Locator("#daily-label").InnerTextAsync()); // the ledger is minutes old, not 7 days
        // Requests, latency and errors over time: one line per model, p50 and p95, and the refusal by its reason.
        Assert.Equal(Models.Order(StringComparer.Ordinal), (await page.Locator("#requests-chart").GetAttributeAsync("data-series"))!.Split('|'));
        Assert.Equal("p50|p95", await page.Locator("#latency-chart").GetAttributeAsync("data-series"));
        Assert.Contains("bad_request (refused)", (await page.Locator("#errors-chart").GetAttributeAsync("data-series"))!.Split('|'));
        Assert.True(await InkedPixelsAsync(page, "#requests-chart") > 100, "the requests canvas is blank");
        Assert.Equal("disabled hidden", await page.EvalOnSelectorAsync<string>("#by-node", "o => `${o.disabled ? 'disabled' : 'enabled'} ${o.hidden ? 'hidden' : 'shown'}`")); // one server's ledger: no nodes
        var device = (await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/devices")).GetProperty("devices")[0];
        Assert.Equal("estimate", device.GetProperty("energy_source").GetString());

        // The chart: uPlot drew on its canvas (non-blank pixels), one series per model.
        Assert.Equal(Models.Append("(idle)").Order(StringComparer.Ordinal), (await page.Locator("#chart").GetAttributeAsync("data-series"))!.Split('|').Order(StringComparer.Ordinal));
        Assert.True(await InkedPixelsAsync(page) > 500, "the cost-over-time canvas is blank");

        // Energy: its chart by model and idle, the same watt-hours as the API's time series; each model's Wh per 1,000 output
        // tokens as /api/costs/stats says; each group's joules in the table as the summary says.
        Assert.Equal(Models.Append("(idle)").Order(StringComparer.Ordinal), (await page.Locator("#energy-chart").GetAttributeAsync("data-series"))!.Split('|').Order(StringComparer.Ordinal));
        Assert.True(await InkedPixelsAsync(page, "#energy-chart") > 500, "the energy canvas is blank");
        var shownWh = double.Parse((await page.Locator("#energy-chart").GetAttributeAsync("data-total"))!, CultureInfo.InvariantCulture);
        Assert.True(shownWh > 0);
        Assert.InRange(double.Parse((await page.Locator("#energy-idle").GetAttributeAsync("data-idle-share"))!, CultureInfo.InvariantCulture), 0, 1);
        // Models with energy in the range are listed (a request shorter than one tick of the test's clock has none).
        var withEnergy = stats.GetProperty("models").EnumerateArray().Where(m => m.GetProperty("energy_j").GetDouble() > 0).ToList();
        Assert.NotEmpty(withEnergy);
        Assert.Equal(withEnergy.Count, await page.Locator("#energy-facts li[data-model]").CountAsync());
        foreach (var model in withEnergy)
        {
            var name = model.GetProperty("model").GetString();
            Assert.Equal(model.GetProperty("wh_per_1k_output_tokens").GetDouble(), double.Parse((await page.Locator($"#energy-facts li[data-model='{name}']").GetAttributeAsync("data-wh-per1k"))!, CultureInfo.InvariantCulture), 9);
        }

        foreach (var row in summary.GetProperty("rows").EnumerateArray())
        {
            var shownJ = await page.Locator($"#summary tbody tr[data-key='{row.GetProperty("key").GetString()}']").GetAttributeAsync("data-energy-j");
            Assert.Equal(row.GetProperty("energy_j").GetDouble(), double.Parse(shownJ!, CultureInfo.InvariantCulture), 6);
        }

        Assert.Empty(errors);

        var docs = Path.Combine(Repository.Root, "docs");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "modelmeter-dashboard.png"), FullPage = true });
        if (Environment.GetEnvironmentVariable("MODELMETER_UPDATE_SCREENSHOT") == "1")
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(docs, "dashboard.png"), FullPage = true });
        }
    }

    [Fact]
    public async Task Controls_ChangeWhatThePageAsksAndShows_AndTheUrlKeepsTheView()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600));
        foreach (var (model, tenant) in new[] { ("demo-small", "acme"), ("demo-medium", "globex"), ("demo-small", "globex") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/generate/{model}") { Content = JsonContent.Create(new { prompt = "control me", max_tokens = 3 }) };
            request.Headers.Add("X-Tenant", tenant);
            (await server.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var (page, errors) = await OpenAsync(browser, server, width: 1280);
        var requested = new List<string>();
        page.Request += (_, r) => requested.Add(Uri.UnescapeDataString(r.Url));

        await ChangeAsync(page, "#by", "tenant");
        Assert.Contains(requested, u => u.Contains("/api/costs/summary?", StringComparison.Ordinal) && u.Contains("by=tenant", StringComparison.Ordinal));
        Assert.Superset(new HashSet<string> { "acme", "globex" }, (await RowKeysAsync(page)).Where(k => !k.StartsWith('(')).ToHashSet());

        requested.Clear();
        await page.WaitForSelectorAsync("#model option[value='demo-small']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
        await ChangeAsync(page, "#by", "model");
        await ChangeAsync(page, "#model", "demo-small");
        Assert.Contains(requested, u => u.Contains("model=demo-small", StringComparison.Ordinal) && u.Contains("/api/costs/timeseries", StringComparison.Ordinal));
        Assert.Equal(["demo-small"], await RowKeysAsync(page));

        requested.Clear();
        await ChangeAsync(page, "#range", "15m");
        var series = requested.Single(u => u.Contains("/api/costs/timeseries", StringComparison.Ordinal));
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(series).Query);
        Assert.InRange((DateTimeOffset.Parse(query["to"]!, CultureInfo.InvariantCulture) - DateTimeOffset.Parse(query["from"]!, CultureInfo.InvariantCulture)).TotalMinutes, 14.9, 15.1);
        Assert.Equal("1m", query["step"]);

        // The URL holds the view: opening it again restores every control.
        var url = page.Url;
        Assert.Contains("by=model", url);
        Assert.Contains("model=demo-small", url);
        var again = await browser.NewPageAsync();
        await again.GotoAsync(url);
        await again.WaitForSelectorAsync("body[data-loaded]");
        await UntilAsync(again, "document.getElementById('model').value === 'demo-small'");
        Assert.Equal("15m", await again.Locator("#range").InputValueAsync());
        Assert.Empty(errors);
    }

    [Fact]
    public async Task FreshLedger_ShowsTheEmptyStateWithTheDemoButton_AndThePhoneLayoutHolds()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var (page, errors) = await OpenAsync(browser, server, width: 390);

        Assert.True(await page.Locator("#empty").IsVisibleAsync());
        Assert.True(await page.Locator("#demo").IsVisibleAsync());
        Assert.Contains("Nothing since midnight yet", await page.Locator("#today-bars").InnerTextAsync());
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"the page is {overflow} px wider than a 390 px phone screen");

        // The button sends real requests: the empty state goes once they are in the ledger.
        await page.ClickAsync("#demo");
        await page.WaitForSelectorAsync("#demo-status:has-text('Sending')");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#empty", new PageWaitForSelectorOptions { State = WaitForSelectorState.Hidden, Timeout = 60_000 });
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Dashboard_AuthOn_AsksForTheAdminKeyAndThenShowsCosts()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Auth:Enabled"] = "true";
        settings["ModelMeter:Auth:AdminKeySha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("admin-key"u8));
        settings["ModelMeter:Tenants:acme:ApiKeySha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("acme-key"u8));
        await using var server = await RunningServer.StartAsync(settings);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(server.Client.BaseAddress!.ToString());

        await page.WaitForSelectorAsync("#error:not([hidden])");
        Assert.Contains("admin key", await page.Locator("#error").InnerTextAsync());
        await page.FillAsync("#key", "admin-key");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("body[data-loaded]");

        Assert.True(await page.Locator("#error").IsHiddenAsync());
    }

    private static async Task<(IPage Page, List<string> Errors)> OpenAsync(IBrowser browser, RunningServer server, int width)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.Client.BaseAddress!.ToString());
        await page.WaitForSelectorAsync("body[data-loaded], #error:not([hidden])");
        Assert.True(await page.Locator("#error").IsHiddenAsync(), await page.Locator("#error").InnerTextAsync());
        return (page, errors);
    }

    /// <summary>Changes a control and waits for the page to redraw with what it fetched.</summary>
    private static async Task ChangeAsync(IPage page, string selector, string value)
    {
        var before = await page.EvaluateAsync<string>("document.body.dataset.loaded");
        await page.SelectOptionAsync(selector, value);
        await UntilAsync(page, $"document.body.dataset.loaded !== '{before}' || !document.getElementById('error').hidden");
        Assert.True(await page.Locator("#error").IsHiddenAsync(), await page.Locator("#error").InnerTextAsync());
    }

    /// <summary>
    /// Polls <paramref name="condition"/> in the page until it holds (10 s at most). Playwright's WaitForFunction evaluates
    /// a string with eval, which the dashboard's CSP forbids; Evaluate does not.
    /// </summary>
    private static async Task UntilAsync(IPage page, string condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await page.EvaluateAsync<bool>(condition))
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {condition}.");
            await Task.Delay(20);
        }
    }

    private static Task<string[]> RowKeysAsync(IPage page) =>
        page.Locator("#summary tbody tr[data-key]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)");

    /// <summary>Pixels of the chart's canvas that are not transparent.</summary>
    private static Task<int> InkedPixelsAsync(IPage page, string chart = "#chart") => page.EvaluateAsync<int>("""
        (chart => {
          const canvas = document.querySelector(chart + ' canvas');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let inked = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
          return inked;
        })
        """, chart);

    /// <summary>Debian's Chromium, headless, with nothing that reaches outside the machine.</summary>
    private static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
}
