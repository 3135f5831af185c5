using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelMeter.IntegrationTests.Deploy;

/// <summary>The README's first request, as written, against the server started with its embedded defaults.</summary>
public sealed partial class ReadmeTests : IDisposable
{
    private const string DefaultAddress = "http://127.0.0.1:8000";

    private readonly string _directory = Directory.CreateTempSubdirectory("modelmeter-readme-").FullName;

    [Fact]
    public async Task FirstRequest_CurlAsWritten_AnswersWithUsageFromTheDefaultServer()
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        var firstScreen = readme[readme.IndexOf("### A first request", StringComparison.Ordinal)..];
        var curl = BashBlock().Matches(firstScreen).Select(m => m.Groups[1].Value).First(b => b.Contains("curl", StringComparison.Ordinal));
        Assert.Contains($"{DefaultAddress}/v1/chat/completions", curl);

        // The embedded defaults (the server's appsettings.json, as `dotnet run` reads it; this project's output may hold the
        // sample's instead); only the demo models' folder is the suite's, already written.
        File.Copy(Repository.PathOf("src", "ModelMeter.Server", "appsettings.json"), Path.Combine(_directory, "appsettings.json"));
        var models = new Dictionary<string, string?>();
        foreach (var model in new[] { "demo-small", "demo-medium", "demo-large" })
        {
            models[$"ModelMeter:Models:{model}:Path"] = Path.Combine(RunningServer.ModelsDirectory, model);
        }

        await using var server = await ServerProcess.StartAsync(_directory, models);
        var (code, output) = await Tools.RunAsync("bash", _directory, "-ec", curl.Replace(DefaultAddress, server.Client.BaseAddress!.ToString().TrimEnd('/'), StringComparison.Ordinal));

        Assert.True(code == 0, output);
        var answer = JsonDocument.Parse(output).RootElement;
        Assert.Equal("chat.completion", answer.GetProperty("object").GetString());
        Assert.Equal("demo-small", answer.GetProperty("model").GetString());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        Assert.InRange(answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 16);
        Assert.True(answer.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();
}
