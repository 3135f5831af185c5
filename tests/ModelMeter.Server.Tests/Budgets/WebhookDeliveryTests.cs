using System.Net;

namespace ModelMeter.Server.Tests.Budgets;

/// <summary>Budget webhooks keep being delivered whatever one hook does.</summary>
public sealed class WebhookDeliveryTests
{
    [Fact]
    public async Task HookThatNeverAnswers_TimesOut_ThenALaterCrossingToAGoodHookIsDelivered()
    {
        await using var hanging = await WebhookListener.StartAsync(hang: true);
        await using var good = await WebhookListener.StartAsync();
        var settings = Settings(hanging, good, timeoutSeconds: 1);
        settings["ModelMeter:Budgets:0:Target"] = "demo-small";
        settings["ModelMeter:Budgets:0:Scope"] = "Model";
        settings["ModelMeter:Budgets:1:Target"] = "demo-medium";
        settings["ModelMeter:Budgets:1:Scope"] = "Model";
        await using var server = await RunningServer.StartAsync(settings);

        await GenerateAsync(server, "demo-small"); // crosses the budget whose hook hangs
        await Eventually.TrueAsync(() => hanging.Abandoned >= 1, "the hanging hook's delivery to time out");
        await GenerateAsync(server, "demo-medium"); // crosses the budget with the good hook

        await Eventually.TrueAsync(() => !good.Received.IsEmpty, "the good hook's delivery");
        Assert.Equal("to-good-hook", good.Received.Single().GetProperty("budget").GetString());
    }

    [Fact]
    public async Task TwoHooks_OneHanging_TheOtherIsDeliveredWithoutWaiting()
    {
        await using var hanging = await WebhookListener.StartAsync(hang: true);
        await using var good = await WebhookListener.StartAsync();
        await using var server = await RunningServer.StartAsync(Settings(hanging, good, timeoutSeconds: 120));

        await GenerateAsync(server, "demo-small"); // crosses both global budgets at once

        await Eventually.TrueAsync(() => !good.Received.IsEmpty, "the good hook's delivery");
        Assert.Equal(0, hanging.Abandoned); // the hanging delivery is still waiting: the good one did not queue behind it
    }

    private static Dictionary<string, string?> Settings(WebhookListener hanging, WebhookListener good, int timeoutSeconds)
    {
        var settings = RunningServer.DemoSettings(hourlyUsd: 3600);
        settings["ModelMeter:Webhooks:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["ModelMeter:Webhooks:Retries"] = "0";
        foreach (var (index, name, hook) in new[] { (0, "to-hanging-hook", hanging), (1, "to-good-hook", good) })
        {
            settings[$"ModelMeter:Budgets:{index}:Name"] = name;
            settings[$"ModelMeter:Budgets:{index}:LimitUsd"] = "0.000001";
            settings[$"ModelMeter:Budgets:{index}:Thresholds:0"] = "1.0";
            settings[$"ModelMeter:Budgets:{index}:WebhookUrl"] = hook.Url;
        }

        return settings;
    }

    private static async Task GenerateAsync(RunningServer server, string model)
    {
        using var response = await server.GenerateAsync(model, new { prompt = "spend", max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
