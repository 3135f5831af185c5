using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ModelMeter.AspNetCore;
using ModelMeter.Metering;
using ModelMeter.Server.Tests.Gateway;
using ModelMeter.Server.Tests.Ledger;

namespace ModelMeter.Server.Tests.Invariants;

/// <summary>
/// Drives every entry point at once with a seeded random mix (batched ONNX with stop strings, cancellations and
/// disconnects; the gateway against a misbehaving upstream; the library scope; a budget near its limit), then checks
/// what a user relies on. <see cref="Seconds"/> is how long the traffic runs (<c>MODELMETER_HARNESS_SECONDS</c>, default
/// 12); <c>eng/soak.sh</c> runs it longer. A failure names its seed: run it again with that seed to see it again.
/// </summary>
internal sealed class InvariantHarness
{
    private static readonly string[] GatewayScenarios = ["ok", "negusage", "hugeusage", "zerofirst", "nousage", "break", "auth", "hugeline", "fail"];

    /// <summary>Gateway scenarios whose 5xx answers are the fault injected.</summary>
    private static readonly HashSet<string> Faulty = ["break", "auth", "hugeline", "fail"];

    private readonly int _seed;
    private readonly ConcurrentBag<Outcome> _outcomes = [];

    public InvariantHarness(int seed) => _seed = seed;

    public static double Seconds =>
        double.TryParse(Environment.GetEnvironmentVariable("MODELMETER_HARNESS_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 12;

    /// <summary>One request as its client saw it: text chunks received, and the usage it was told (null when none).</summary>
    private sealed record Outcome(string Kind, string Model, int Status, string? RequestId, int TokensReceived, bool Streamed, string? Body)
    {
        public int? Usage { get; init; }
    }

    public async Task RunAsync()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        await using var clock = new RunningClock();
        var server = await RunningServer.StartAsync(Settings(upstream), services: s => s.AddSingleton<TimeProvider>(clock.Time));
        try
        {
            var peakMemory = 0L;
            var baseline = Environment.WorkingSet;
            using var load = new CancellationTokenSource(TimeSpan.FromSeconds(Seconds));
            var sampler = Task.Run(async () =>
            {
                while (!load.IsCancellationRequested)
                {
                    peakMemory = Math.Max(peakMemory, Environment.WorkingSet);
                    await Task.Delay(100);
                }
            });
            var fault = Task.Run(() => LedgerFaultAsync(server.LedgerPath, load.Token));
            await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() => WorkerAsync(server, worker, load.Token))));
            await fault;
            await sampler;

            // Quiet: nothing in flight, no batch row left, then the clock stops and the ledger closes.
            await Eventually.TrueAsync(async () =>
            {
                var samples = await server.ScrapeAsync();
                return samples.Where(s => s.Key.StartsWith("model_inflight_requests{", StringComparison.Ordinal) || s.Key.StartsWith("model_batch_rows{", StringComparison.Ordinal)).All(s => s.Value == 0);
            }, $"nothing in flight (seed {_seed})", seconds: 120);
            var samples = await server.ScrapeAsync();
            var meter = server.Services.GetRequiredService<CostMeter>();
            await clock.StopAsync();
            await server.StopAsync();
            Check(server.LedgerPath, meter, samples, peakMemory - baseline);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private void Check(string ledger, CostMeter meter, Dictionary<string, double> samples, long memoryGrowth)
    {
        var seed = $"(seed {_seed}: run it again with this seed)";
        Assert.True(_outcomes.Count(o => o.Status == 200) > 20, $"too little was answered to check anything: {_outcomes.Count(o => o.Status == 200)} {seed}");

        // 1. Requests + idle = the bill, per device.
        foreach (var device in meter.Devices)
        {
            var bill = device.Snapshot().BillUsd;
            var rows = LedgerFile.Rows(ledger, $"SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE device = '{device.Device}'", r => r.GetDouble(0)).Single()
                + LedgerFile.Rows(ledger, $"SELECT COALESCE(SUM(cost_usd), 0) FROM idle WHERE device = '{device.Device}'", r => r.GetDouble(0)).Single();
            Assert.True(Math.Abs(rows - bill) <= 1e-9 * Math.Max(1, bill), $"{device.Device}: rows + idle {rows} against the bill {bill} {seed}");

            // The same for energy and carbon, split in the same sums; with an estimated power model (no NVML here) the device's
            // joules are idle W × idle time + busy W × busy time, and its carbon those joules at the grid's intensity.
            var account = device.Snapshot();
            var joules = LedgerFile.Rows(ledger, $"SELECT COALESCE(SUM(energy_j), 0), COALESCE(SUM(co2e_g), 0) FROM requests WHERE device = '{device.Device}'", r => (r.GetDouble(0), r.GetDouble(1))).Single();
            var idleJoules = LedgerFile.Rows(ledger, $"SELECT COALESCE(SUM(energy_j), 0), COALESCE(SUM(co2e_g), 0) FROM idle WHERE device = '{device.Device}'", r => (r.GetDouble(0), r.GetDouble(1))).Single();
            Assert.True(Math.Abs(joules.Item1 + idleJoules.Item1 - account.Bill.Joules) <= 1e-9 * Math.Max(1, account.Bill.Joules),
                $"{device.Device}: request + idle joules {joules.Item1 + idleJoules.Item1} against the device's {account.Bill.Joules} {seed}");
            Assert.True(Math.Abs(joules.Item2 + idleJoules.Item2 - account.Bill.Co2eGrams) <= 1e-9 * Math.Max(1, account.Bill.Co2eGrams),
                $"{device.Device}: request + idle grams {joules.Item2 + idleJoules.Item2} against the device's {account.Bill.Co2eGrams} {seed}");
            var power = Assert.IsType<ModelMeter.Energy.EstimatedPower>(device.Energy);
            var usdPerSecond = device.Rates.HourlyUsdOf(0) / 3600;
            var (idleSeconds, busySeconds) = (account.IdleUsd / usdPerSecond, (account.BillUsd - account.IdleUsd) / usdPerSecond);
            var expectedJoules = power.IdleWatts * idleSeconds + power.BusyWatts * busySeconds;
            Assert.True(Math.Abs(account.Bill.Joules - expectedJoules) <= 1e-6 * expectedJoules,
                $"{device.Device}: {account.Bill.Joules} J against {power.IdleWatts} W × {idleSeconds} s + {power.BusyWatts} W × {busySeconds} s {seed}");
            Assert.Equal(account.Bill.Joules / 3_600_000 * 475, account.Bill.Co2eGrams, 9);
        }

        // 2. Every answered request has exactly one final row, and every token its client received is in it.
        var rowsById = LedgerFile.Rows(ledger, "SELECT request_id, status, output_tokens FROM requests", r => (Id: r.GetString(0), Status: r.GetString(1), Out: r.GetInt32(2)))
            .GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToList());
        Assert.DoesNotContain(rowsById.Values, rows => rows.Any(r => r.Status == "provisional"));
        foreach (var answered in _outcomes.Where(o => o.Status == 200 && o.RequestId is not null))
        {
            Assert.True(rowsById.TryGetValue(answered.RequestId!, out var rows) && rows.Count == 1,
                $"{answered.Kind} {answered.Model} {answered.RequestId}: {rows?.Count ?? 0} rows, not one {seed}");
            var row = rows![0];
            Assert.True(row.Status == "ok", $"{answered.Kind} {answered.Model} {answered.RequestId}: answered, but its row says {row.Status} {seed}");
            Assert.True(answered.Usage is null || row.Out == answered.Usage, $"{answered.Kind} {answered.Model} {answered.RequestId}: told {answered.Usage} tokens, the row has {row.Out} {seed}");
            if (answered.Kind is "gateway" or "scope")
            {
                // Through the gateway each chunk passed on is at least a token (an ONNX stream's last chunk may carry held-back text only).
                Assert.True(row.Out >= answered.TokensReceived,
                    $"{answered.Kind} {answered.Model} {answered.RequestId}: the client received {answered.TokensReceived} chunks, the row has {row.Out} tokens {seed}");
            }
        }

        // 3. No decode step for a row whose request had ended.
        Assert.All(samples.Where(s => s.Key.StartsWith("model_batch_rows_without_owner_total", StringComparison.Ordinal)), s => Assert.True(s.Value == 0, $"{s.Key} = {s.Value} {seed}"));

        // 4. No 5xx but those the injected faults explain (a faulty upstream, the ledger locked).
        var unexplained = _outcomes.Where(o => o.Status >= 500
            && !(o.Kind == "gateway" && Faulty.Contains(o.Model["up-".Length..]))
            && !LedgerRefusal(o)).ToList();
        Assert.True(unexplained.Count == 0, $"unexplained 5xx: {string.Join("; ", unexplained.Take(3).Select(o => $"{o.Kind} {o.Model} {o.Status} {o.Body}"))} {seed}");

        // The faults did happen: the ledger refused while it was locked.
        Assert.True(samples.Where(s => s.Key.StartsWith("model_request_errors_total{", StringComparison.Ordinal) && s.Key.Contains("reason=\"ledger_unavailable\"", StringComparison.Ordinal)).Sum(s => s.Value) > 0,
            $"the locked ledger refused nothing {seed}");

        // 5. Memory stays bounded (an unbounded upstream line alone would hold 4 MiB per request).
        Assert.True(memoryGrowth < 1L << 30, $"resident memory grew by {memoryGrowth >> 20} MiB {seed}");
    }

    /// <summary>
    /// A third of the way in, the ledger's write lock is held by another connection until the server has refused a
    /// request for it (a commit waits out its busy timeout first), and a second more: Strict requests are refused
    /// meanwhile and the rows that ran land later.
    /// </summary>
    private async Task LedgerFaultAsync(string ledger, CancellationToken load)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(Seconds / 3), load);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        using var blocker = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = ledger, Pooling = false }.ToString());
        blocker.Open();
        using (var exclusive = blocker.CreateCommand())
        {
            exclusive.CommandText = "BEGIN EXCLUSIVE";
            exclusive.ExecuteNonQuery();
        }

        await Eventually.TrueAsync(() => _outcomes.Any(LedgerRefusal), $"a request refused while the ledger is locked (seed {_seed})", seconds: 60);
        await Task.Delay(TimeSpan.FromSeconds(1)); // the fault's length: refusals go on meanwhile
        blocker.Close();
    }

    private async Task WorkerAsync(RunningServer server, int worker, CancellationToken load)
    {
        var random = new Random(_seed * 100 + worker);
        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        var scope = server.Services.GetRequiredService<ModelMeterScope>();
        while (!load.IsCancellationRequested)
        {
            var action = random.Next(6);
            try
            {
                await (action switch
                {
                    0 => PlainAsync(client, random),
                    1 => StopStringStreamAsync(client, random),
                    2 => CancelledStreamAsync(client, random),
                    3 or 4 => GatewayAsync(client, random),
                    _ => ScopeAsync(scope, random),
                });
            }
            catch (OperationCanceledException)
            {
                // a client that left on purpose
            }
        }
    }

    private async Task PlainAsync(HttpClient client, Random random)
    {
        var model = random.Next(2) == 0 ? "demo-small" : "demo-medium";
        using var response = await client.PostAsJsonAsync($"/v1/generate/{model}", new { prompt = Prompt(random), max_tokens = random.Next(1, 24) });
        var body = await response.Content.ReadAsStringAsync();
        var tokens = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("output_tokens").GetInt32() : 0;
        _outcomes.Add(new Outcome("plain", model, (int)response.StatusCode, Id(response), tokens, false, body) { Usage = tokens });
    }

    private async Task StopStringStreamAsync(HttpClient client, Random random)
    {
        var stop = new[] { " t", "e", ".", "\n", "a" }[random.Next(5)];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(random.Next(2) == 0
                ? new { model = "demo-medium", prompt = Prompt(random), max_tokens = random.Next(8, 128), temperature = 0, stop, stream = false } as object
                : new { model = "demo-medium", prompt = Prompt(random), max_tokens = random.Next(8, 128), temperature = 0, stop, stream = true, stream_options = new { include_usage = true } }),
        };
        await SendAsync(client, request, "stop", "demo-medium", CancellationToken.None);
    }

    private async Task CancelledStreamAsync(HttpClient client, Random random)
    {
        using var leave = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(10, 400)));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = JsonContent.Create(new { model = random.Next(2) == 0 ? "demo-small" : "demo-medium", prompt = Prompt(random), max_tokens = random.Next(16, 96), stream = true, stream_options = new { include_usage = true } }),
        };
        try
        {
            await SendAsync(client, request, "cancelled", "demo", leave.Token);
        }
        catch (Exception e) when (e is IOException or HttpRequestException && leave.IsCancellationRequested)
        {
            // the client left mid-answer: whatever the socket said then
        }
    }

    private async Task GatewayAsync(HttpClient client, Random random)
    {
        var model = "up-" + GatewayScenarios[random.Next(GatewayScenarios.Length)];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(random.Next(2) == 0
                ? new { model, messages = new[] { new { role = "user", content = Prompt(random) } }, max_tokens = random.Next(1, 64), stream = false } as object
                : new { model, messages = new[] { new { role = "user", content = Prompt(random) } }, max_tokens = random.Next(1, 64), stream = true, stream_options = new { include_usage = true } }),
        };
        await SendAsync(client, request, "gateway", model, CancellationToken.None);
    }

    private async Task ScopeAsync(ModelMeterScope scope, Random random)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["X-Tenant"] = "library";
        MeteredScope metered;
        try
        {
            metered = await scope.BeginAsync("ext", http, maxOutputTokens: 16);
        }
        catch (ModelMeterRefusedException refused)
        {
            _outcomes.Add(new Outcome("scope", "ext", refused.StatusCode, null, 0, false, refused.Message));
            return;
        }

        var tokens = random.Next(0, 16);
        try
        {
            await using (metered)
            {
                metered.InputTokens = random.Next(1, 50);
                metered.AddOutputTokens(tokens);
                await Task.Delay(random.Next(0, 30));
                switch (random.Next(3))
                {
                    case 0:
                        await metered.CompleteAsync();
                        _outcomes.Add(new Outcome("scope", "ext", 200, metered.RequestId, tokens, false, null) { Usage = tokens });
                        break;
                    case 1:
                        await metered.FailAsync(ErrorReason.Internal);
                        break;
                    default:
                        break; // disposed unfinished: failed as internal
                }
            }
        }
        catch (ModelMeter.Ledger.LedgerUnavailableException e)
        {
            // Strict and the ledger cannot write: not delivered (as the sample does); its row waits as failed.
            _outcomes.Add(new Outcome("scope", "ext", 503, metered.RequestId, tokens, false, "ledger: " + e.Message));
        }
    }

    /// <summary>Sends and reads the answer (a stream chunk by chunk); counts the text chunks received.</summary>
    private async Task SendAsync(HttpClient client, HttpRequestMessage request, string kind, string model, CancellationToken leave)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave);
        var streamed = response.Content.Headers.ContentType?.MediaType == "text/event-stream";
        var body = new System.Text.StringBuilder();
        var received = 0;
        int? usage = null;
        string? streamError = null;
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync(leave)))
        {
            while (await reader.ReadLineAsync(leave) is { } line)
            {
                body.AppendLine(line);
                if (streamed && line.StartsWith("data: {\"error\"", StringComparison.Ordinal))
                {
                    streamError = JsonDocument.Parse(line[6..]).RootElement.GetProperty("error").GetProperty("code").GetString();
                }

                if (streamed && line.StartsWith("data: {", StringComparison.Ordinal) && line.Contains("\"choices\"", StringComparison.Ordinal))
                {
                    using var chunk = JsonDocument.Parse(line[6..]);
                    if (chunk.RootElement.TryGetProperty("usage", out var told) && told.ValueKind == JsonValueKind.Object)
                    {
                        usage = told.GetProperty("completion_tokens").GetInt32();
                    }

                    var choice = chunk.RootElement.GetProperty("choices").EnumerateArray().FirstOrDefault();
                    var text = choice.ValueKind != JsonValueKind.Object ? null
                        : choice.TryGetProperty("delta", out var delta) ? (delta.TryGetProperty("content", out var c) ? c.GetString() : null)
                        : choice.TryGetProperty("text", out var t) ? t.GetString() : null;
                    received += string.IsNullOrEmpty(text) ? 0 : 1;
                }
            }
        }

        if (!streamed && response.IsSuccessStatusCode)
        {
            usage = received = JsonDocument.Parse(body.ToString()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        }

        var status = (int)response.StatusCode;
        var shown = body.Length > 300 ? body.ToString()[..300] : body.ToString();
        if (streamError is not null)
        {
            // The stream ended with an error event: what the client heard was a failure, the status its code stands for.
            (status, shown) = (streamError == "ledger_unavailable" ? 503 : 502, $"{streamError} (stream): {shown}");
        }

        _outcomes.Add(new Outcome(kind, model, status, Id(response), received, streamed, shown) { Usage = usage });
    }

    private static bool LedgerRefusal(Outcome outcome) => outcome.Status == 503 && outcome.Body?.Contains("ledger", StringComparison.OrdinalIgnoreCase) == true;

    private static string? Id(HttpResponseMessage response) => response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.Single() : null;

    private static string Prompt(Random random) => new[] { "Who ate the budget?", "Grüße 日本 🚀", "idle time costs money", "x", "where did the GPU hours go" }[random.Next(5)]
        + new string(' ', random.Next(0, 3)) + random.Next(1000);

    private static Dictionary<string, string?> Settings(FakeUpstream upstream)
    {
        var settings = RunningServer.DemoSettings(3600, "demo-small", "demo-medium");
        settings["ModelMeter:Ledger:Durability"] = "Strict";
        settings["ModelMeter:Devices:gpu0:Kind"] = "Gpu";
        settings["ModelMeter:Devices:gpu0:HourlyUsd"] = "7200";
        settings["ModelMeter:Models:ext:Backend"] = "External";
        settings["ModelMeter:Models:ext:Device"] = "cpu";
        foreach (var model in new[] { "demo-small", "demo-medium" })
        {
            settings[$"ModelMeter:Models:{model}:MaxQueue"] = "256";
        }

        foreach (var scenario in GatewayScenarios)
        {
            var model = $"ModelMeter:Models:up-{scenario}";
            settings[$"{model}:Backend"] = "OpenAI";
            settings[$"{model}:BaseUrl"] = upstream.BaseUrl(scenario);
            settings[$"{model}:Device"] = "gpu0";
            settings[$"{model}:Retries"] = "0";
            settings[$"{model}:TimeoutSeconds"] = "30";
            settings[$"{model}:MaxQueue"] = "256";
        }

        settings["ModelMeter:Models:up-hugeline:TimeoutSeconds"] = "2"; // a whole answer that never ends: 504 soon
        settings["ModelMeter:Models:up-auth:ApiKeyEnv"] = "MODELMETER_HARNESS_KEY";
        Environment.SetEnvironmentVariable("MODELMETER_HARNESS_KEY", "sk-harness-secret");
        settings["ModelMeter:Budgets:0:Name"] = "gateway-near-limit";
        settings["ModelMeter:Budgets:0:Scope"] = "Model";
        settings["ModelMeter:Budgets:0:Target"] = "up-ok";
        settings["ModelMeter:Budgets:0:LimitUsd"] = "0.5";
        settings["ModelMeter:Budgets:0:Action"] = "Enforce";
        return settings;
    }
}
