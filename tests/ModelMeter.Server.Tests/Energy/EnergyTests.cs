using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelMeter.Metering;

namespace ModelMeter.Server.Tests.Energy;

/// <summary>
/// A real server with an estimated power model on its CPU device and mixed concurrent traffic: each answer says its joules,
/// the ledger's rows hold them, request + idle joules make the device's, and the summary, the time series, the stats and
/// the metrics agree with the ledger.
/// </summary>
public sealed class EnergyTests
{
    private const double IdleWatts = 10, BusyWatts = 50, GramsPerKwh = 400;

    [Fact]
    public async Task EstimatedPower_ConcurrentTraffic_RequestsPlusIdleIsTheDevicesEnergy_EverywhereAlike()
    {
        var settings = RunningServer.DemoSettings(3600, "demo-small", "demo-medium");
        settings["ModelMeter:Devices:cpu:Energy:IdleWatts"] = IdleWatts.ToString(CultureInfo.InvariantCulture);
        settings["ModelMeter:Devices:cpu:Energy:BusyWatts"] = BusyWatts.ToString(CultureInfo.InvariantCulture);
        settings["ModelMeter:Devices:cpu:Energy:GridGramsPerKwh"] = GramsPerKwh.ToString(CultureInfo.InvariantCulture);
        var server = await RunningServer.StartAsync(settings);
        try
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(async i =>
            {
                var model = i % 2 == 0 ? "demo-small" : "demo-medium";
                using var response = await server.Client.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = $"Où est l'argent {i}?" } }, max_tokens = 8 + i });
                response.EnsureSuccessStatusCode();
                var id = response.Headers.GetValues("X-Request-Id").Single();
                return (Id: id, Model: model, Joules: double.Parse(response.Headers.GetValues("X-ModelMeter-Energy-J").Single(), CultureInfo.InvariantCulture));
            }));
            using (var generated = await server.GenerateAsync("demo-small", new { prompt = "Who ate the budget?", max_tokens = 5 }))
            {
                var body = await generated.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
                Assert.True(body.GetProperty("energy_j").GetDouble() > 0);
                Assert.Equal(body.GetProperty("energy_j").GetDouble() / 3_600_000 * GramsPerKwh, body.GetProperty("co2e_g").GetDouble(), 12);
            }

            // Each answer's header is its row's energy, and busy power makes every request's share positive.
            var rows = LedgerFile.Rows(server.LedgerPath, "SELECT request_id, model, energy_j, co2e_g FROM requests", r => (Id: r.GetString(0), Model: r.GetString(1), Joules: r.GetDouble(2), Grams: r.GetDouble(3)))
                .ToDictionary(r => r.Id);
            foreach (var answer in answers)
            {
                Assert.Equal(answer.Joules, rows[answer.Id].Joules, 12);
                Assert.True(answer.Joules > 0);
                Assert.Equal(answer.Joules / 3_600_000 * GramsPerKwh, rows[answer.Id].Grams, 12);
            }

            var summary = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/summary?by=model&idle=separate");
            var series = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/timeseries?by=model&step=1m");
            var stats = await server.Client.GetFromJsonAsync<JsonElement>("/api/costs/stats");
            var metrics = await server.ScrapeAsync();
            var device = server.Services.GetRequiredService<CostMeter>().Devices.Single();

            // By model: each model's rows, against its counter.
            foreach (var model in new[] { "demo-small", "demo-medium" })
            {
                var ledger = rows.Values.Where(r => r.Model == model).Sum(r => r.Joules);
                var line = summary.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("key").GetString() == model);
                Assert.Equal(ledger, line.GetProperty("energy_j").GetDouble(), 9);
                Assert.Equal(ledger, metrics[$"model_energy_joules_total{{model_name=\"{model}\"}}"], 6);
                Assert.Equal(ledger / 3_600_000 * GramsPerKwh, metrics[$"model_co2e_grams_total{{model_name=\"{model}\"}}"], 6);
                var stat = stats.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model").GetString() == model);
                Assert.True(stat.GetProperty("wh_per_1k_output_tokens").GetDouble() > 0);
            }

            Assert.Equal(rows.Values.Sum(r => r.Joules), series.GetProperty("points").EnumerateArray().Where(p => !p.GetProperty("key").GetString()!.StartsWith('(')).Sum(p => p.GetProperty("energy_j").GetDouble()), 9);

            // The device: request + idle joules in the ledger are its energy, once the server has stopped and written its last idle minute.
            await server.StopAsync();
            var (idle, bill, idleSeconds, billSeconds) = LedgerFile.Rows(server.LedgerPath, "SELECT SUM(energy_j), SUM(bill_energy_j), SUM(cost_usd), SUM(bill_usd) FROM idle",
                r => (r.GetDouble(0), r.GetDouble(1), r.GetDouble(2), r.GetDouble(3))).Single(); // at 1 USD a second, dollars are seconds
            var requests = LedgerFile.Rows(server.LedgerPath, "SELECT SUM(energy_j) FROM requests", r => r.GetDouble(0)).Single();
            Assert.Equal(bill, requests + idle, 6);
            Assert.Equal(IdleWatts * idleSeconds + BusyWatts * (billSeconds - idleSeconds), bill, 6);
            Assert.True(device.Snapshot().Bill.Joules >= bill);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
