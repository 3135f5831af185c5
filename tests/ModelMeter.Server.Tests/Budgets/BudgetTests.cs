using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Budgets;

public sealed class BudgetTests
{
    [Fact]
    public async Task EnforcedDailyBudget_FiresEachThresholdOnceThenRefusesWith429UntilMidnight()
    {
        await using var hook = await WebhookListener.StartAsync();
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600); // 1 USD per device-second
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:Scope"] = "Global";
        settings["ModelMeter:Budgets:0:Period"] = "Day";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "0.3";
        settings["ModelMeter:Budgets:0:Thresholds:0"] = "0.5";
        settings["ModelMeter:Budgets:0:Thresholds:1"] = "1.0";
        settings["ModelMeter:Budgets:0:Action"] = "Enforce";
        settings["ModelMeter:Budgets:0:WebhookUrl"] = hook.Url;
        var noon = new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero); // a fake clock at noon: the test cannot straddle midnight
        await using var clock = new RunningClock(noon);
        await using var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));

        HttpResponseMessage? refused = null;
        for (var i = 0; i < 100 && refused is null; i++)
        {
            var response = await server.GenerateAsync("demo-medium", new { prompt = "spend", max_tokens = 12 });
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        Assert.NotNull(refused);
        var untilMidnight = noon.AddDays(1).Date - clock.Time.GetUtcNow().UtcDateTime;
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, untilMidnight.TotalSeconds - 10, untilMidnight.TotalSeconds + 10);
        Assert.InRange(untilMidnight.TotalHours, 11, 12);
        Assert.Equal("daily", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("budget").GetString());
        using (var again = await server.GenerateAsync("demo-medium", new { prompt = "spend", max_tokens = 12 }))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        }

        await Eventually.TrueAsync(() => hook.Received.Count >= 2, "both threshold webhooks");
        await Task.Delay(300); // the absence of a third can only be seen by waiting: a duplicate would have been queued before the 429s
        var thresholds = hook.Received.Select(b => b.GetProperty("threshold").GetDouble()).Order().ToArray();
        Assert.Equal([0.5, 1.0], thresholds);
        Assert.All(hook.Received, b => Assert.Contains("daily", b.GetProperty("text").GetString()));

        var samples = await server.ScrapeAsync();
        var spent = samples["budget_spent_dollars{budget=\"daily\"}"];
        Assert.Equal(0.3, samples["budget_limit_dollars{budget=\"daily\"}"]);
        Assert.Equal(LedgerFile.RequestCostUsd(server.LedgerPath), spent, 9);
        // Requests were sequential, so the last admitted one overshot by at most its own cost.
        var largest = LedgerFile.Rows(server.LedgerPath, "SELECT MAX(cost_usd) FROM requests", r => r.GetDouble(0)).Single();
        Assert.InRange(spent, 0.3, 0.3 + largest);
        Assert.True(samples["model_request_errors_total{model_name=\"demo-medium\",endpoint=\"generate\",reason=\"budget_exhausted\"}"] >= 1);
    }

    [Fact]
    public async Task TenantBudget_OnlyCountsThatTenant()
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Budgets:0:Name"] = "acme-monthly";
        settings["ModelMeter:Budgets:0:Scope"] = "Tenant";
        settings["ModelMeter:Budgets:0:Target"] = "acme";
        settings["ModelMeter:Budgets:0:Period"] = "Month";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "1000";
        await using var clock = new RunningClock(new DateTimeOffset(2026, 11, 15, 12, 0, 0, TimeSpan.Zero)); // mid-month: no month start mid-test
        await using var server = await RunningServer.StartAsync(settings, services: s => s.AddSingleton<TimeProvider>(clock.Time));

        foreach (var tenant in new[] { "acme", "globex", "acme" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/demo-small") { Content = JsonContent.Create(new { prompt = "hi", max_tokens = 3 }) };
            request.Headers.Add("X-Tenant", tenant);
            (await server.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }

        var acmeUsd = LedgerFile.Rows(server.LedgerPath, "SELECT SUM(cost_usd) FROM requests WHERE tenant = 'acme'", r => r.GetDouble(0)).Single();
        var samples = await server.ScrapeAsync();
        Assert.Equal(acmeUsd, samples["budget_spent_dollars{budget=\"acme-monthly\"}"], 12);
    }

    [Fact]
    public async Task Restart_MidPeriod_BudgetSpendingIsReadBackFromTheLedger()
    {
        var contentRoot = Directory.CreateTempSubdirectory("modelmeter-budget-restart-").FullName;
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Budgets:0:Name"] = "daily";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "1000";
        await using (var first = await RunningServer.StartAsync(settings, contentRoot: contentRoot))
        {
            (await first.GenerateAsync("demo-medium", new { prompt = "spend", max_tokens = 8 })).EnsureSuccessStatusCode();
        }

        var ledgerUsd = LedgerFile.RequestCostUsd(Path.Combine(contentRoot, "data", "ledger.db"));
        await using (var second = await RunningServer.StartAsync(settings, contentRoot: contentRoot))
        {
            var samples = await second.ScrapeAsync();
            Assert.True(ledgerUsd > 0);
            Assert.Equal(ledgerUsd, samples["budget_spent_dollars{budget=\"daily\"}"], 12);
        }

        Directory.Delete(contentRoot, recursive: true);
    }
}
