using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ModelMeter.Server.Tests;

namespace ModelMeter.IntegrationTests.Dashboard;

/// <summary>The built-in dashboard in Debian's real Chromium, driven by Playwright.</summary>
public sealed class DashboardTests
{
    private static readonly string[] Models = ["demo-small", "demo-medium", "demo-large"];

    [Fact]
    public async Task Dashboard_AfterTraffic_ShowsEveryModelAndTheLedgerTotal()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings(hourlyUsd: 3600));
        foreach (var model in Models)
        {
            (await server.GenerateAsync(model, new { prompt = "draw me", max_tokens = 6 })).EnsureSuccessStatusCode();
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 1100 } });
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
        await page.WaitForSelectorAsync("body[data-loaded='true']");
        await page.WaitForSelectorAsync("#models li");

        var keys = await page.Locator("#summary tbody tr[data-key]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)");
        Assert.Superset(Models.ToHashSet(), keys.ToHashSet());
        var shown = await page.Locator("#summary tbody tr[data-key]").EvaluateAllAsync<Dictionary<string, string>>(
            "rows => Object.fromEntries(rows.map(r => [r.dataset.key, r.dataset.totalUsd]))");
        var shownTotal = double.Parse(await page.Locator("#window-total").GetAttributeAsync("data-usd") ?? "0", CultureInfo.InvariantCulture);
        var summary = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary");
        foreach (var row in summary.GetProperty("rows").EnumerateArray().Where(r => Models.Contains(r.GetProperty("key").GetString())))
        {
            // A model's own cost is final; only the idle row grows between the page's request and this one.
            var apiUsd = row.GetProperty("total_usd").GetDouble();
            Assert.InRange(Math.Abs(double.Parse(shown[row.GetProperty("key").GetString()!], CultureInfo.InvariantCulture) - apiUsd) / apiUsd, 0, 1e-9);
        }

        Assert.InRange(shownTotal, 1e-9, summary.GetProperty("total_usd").GetDouble());
        Assert.Equal(3, await page.Locator("#models li .ready").CountAsync());
        Assert.True(await page.Locator("#chart svg rect").CountAsync() >= 1);
        Assert.True(await page.Locator("#key").IsHiddenAsync(), "the admin key field shows only when the cost API asks for it");
        Assert.Empty(errors);

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "modelmeter-dashboard.png"), FullPage = true });
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
        await page.WaitForSelectorAsync("body[data-loaded='true']");

        Assert.True(await page.Locator("#error").IsHiddenAsync());
    }

    /// <summary>Debian's Chromium, headless, with nothing that reaches outside the machine.</summary>
    private static Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
}
