using System.Net;
using Microsoft.Data.Sqlite;
using ModelMeter.Ledger;

namespace ModelMeter.Server.Tests.Ledger;

/// <summary>The ledger file is locked by another writer (as a long admin transaction would): Strict refuses, Relaxed serves.</summary>
public sealed class LedgerFailureTests
{
    [Fact]
    public async Task Strict_LedgerLocked_Answers503UntilItCanWriteAgain()
    {
        await using var server = await RunningServer.StartAsync(RunningServer.DemoSettings());
        using (var warm = await server.GenerateAsync("demo-small", new { prompt = "before", max_tokens = 2 }))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        using (var blocker = Lock(server.LedgerPath))
        {
            using var refused = await server.GenerateAsync("demo-small", new { prompt = "while locked", max_tokens = 2 });
            using var next = await server.GenerateAsync("demo-small", new { prompt = "still locked", max_tokens = 2 });

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, next.StatusCode);
            Assert.NotNull(next.Headers.RetryAfter);
            Assert.Contains("ledger", await next.Content.ReadAsStringAsync());
            using var readiness = await server.Client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, readiness.StatusCode);
        }

        await Task.Delay(LedgerWriter.RetryAfterFailure + TimeSpan.FromSeconds(0.5));
        using var recovered = await server.GenerateAsync("demo-small", new { prompt = "after", max_tokens = 2 });

        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
        var samples = await server.ScrapeAsync();
        Assert.True(samples["model_request_errors_total{model_name=\"demo-small\",endpoint=\"generate\",reason=\"ledger_unavailable\"}"] >= 1);
    }

    [Fact]
    public async Task Relaxed_LedgerLocked_KeepsServingAndWritesTheRowsLater()
    {
        var settings = RunningServer.DemoSettings();
        settings["ModelMeter:Ledger:Durability"] = "Relaxed";
        settings["ModelMeter:Ledger:FlushIntervalMs"] = "200";
        await using var server = await RunningServer.StartAsync(settings);

        using (var blocker = Lock(server.LedgerPath))
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await server.GenerateAsync("demo-small", new { prompt = $"locked {i}", max_tokens = 2 });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await Task.Delay(6000); // at least one write attempt times out on the lock
        }

        for (var i = 0; i < 100 && LedgerFile.RequestIds(server.LedgerPath).Count < 3; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(3, LedgerFile.RequestIds(server.LedgerPath).Count);
    }

    /// <summary>Holds the database's write lock until disposed.</summary>
    private static SqliteConnection Lock(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "BEGIN EXCLUSIVE";
        command.ExecuteNonQuery();
        return connection;
    }
}
