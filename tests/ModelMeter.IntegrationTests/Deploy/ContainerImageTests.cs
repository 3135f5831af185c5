using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelMeter.IntegrationTests.Deploy;

/// <summary>
/// The image as far as it can be run here (the base images cannot be pulled): the Dockerfile says what a user relies
/// on (a non-root user, a health check, port 8080, a volume), its publish command builds the output, its run-stage
/// steps lay out the volume, and the output starts with the image's entry point and environment
/// (<c>ASPNETCORE_HTTP_PORTS</c> included, on a free port) and the compose file's settings.
/// </summary>
public sealed partial class ContainerImageTests(ContainerImageTests.Image image) : IClassFixture<ContainerImageTests.Image>
{
    [Fact]
    public void Dockerfile_RunsAsNonRoot_WithHealthCheckVolumeAndPort8080()
    {
        var dockerfile = image.Dockerfile;
        Assert.Equal(2, dockerfile.Stages.Length);
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", Dockerfile.All(dockerfile.Stages[0], "FROM").Single());
        Assert.Contains(Dockerfile.All(dockerfile.Stages[0], "RUN"), run => run.Contains("npm", StringComparison.Ordinal)); // the build runs npm ci
        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:10.0", Dockerfile.All(dockerfile.Final, "FROM").Single());

        var user = Dockerfile.All(dockerfile.Final, "USER").Last();
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user);
        Assert.Contains("/data", Dockerfile.All(dockerfile.Final, "VOLUME"));
        Assert.Equal("8080", dockerfile.Environment()["ASPNETCORE_HTTP_PORTS"]);
        Assert.Contains("8080", Dockerfile.All(dockerfile.Final, "EXPOSE"));
        Assert.Contains("health", image.HealthCheck);
        Assert.Contains("http://127.0.0.1:8080", image.HealthCheck);
    }

    [Fact]
    public async Task ImageAsComposeRunsIt_ServesOnTheImagePort_WritesModelsAndLedgerIntoTheVolume_AndItsHealthCheckPasses()
    {
        var compose = ComposeFiles.Service(ComposeFiles.Config("docker-compose.yml"), "modelmeter");
        var environment = ComposeFiles.Environment(compose);
        await using var server = await image.StartAsync(environment);

        var answer = await server.Client.PostAsJsonAsync("v1/chat/completions", new { model = "demo-small", messages = new[] { new { role = "user", content = "Hello from a container" } }, max_tokens = 5 });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.True(File.Exists(Path.Combine(image.Volume, "models", "demo-small", "model.onnx")), "the demo models are in the volume");
        Assert.Contains(answer.Headers.GetValues("X-Request-Id").Single(), LedgerFile.RequestIds(Path.Combine(image.Volume, "ledger", "ledger.db")));

        var (code, output) = await image.RunAsync(image.HealthCheck.Select(w => w.Replace("127.0.0.1:8080", $"127.0.0.1:{server.Port}", StringComparison.Ordinal)).ToArray());
        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task ImageWithAuthOn_KeyHashedByItsOwnHashKeyVerb_AdmitsThatKeyOnly()
    {
        var (code, hash) = await image.RunAsync(["dotnet", "ModelMeter.Server.dll", "hash-key"], stdin: "team-a-key\n");
        Assert.Equal(0, code);
        await using var server = await image.StartAsync(new Dictionary<string, string>
        {
            ["ModelMeter__Auth__Enabled"] = "true",
            ["ModelMeter__Tenants__team-a__ApiKeySha256"] = hash.Trim(),
        });

        var request = new { model = "demo-small", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 3 };
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.PostAsJsonAsync("v1/chat/completions", request)).StatusCode);
        using var keyed = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = JsonContent.Create(request) };
        keyed.Headers.Authorization = new("Bearer", "team-a-key");
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(keyed)).StatusCode);
    }

    [Fact]
    public async Task ImageWithAuthOffAndNothingSaid_RefusesToStart_SayingWhy()
    {
        var (code, output) = await image.RunAsync(image.EntryPoint, environment: new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(1, code);
        Assert.Contains("ModelMeter:Auth:Enabled: the server would listen beyond loopback (http://*:", output);
        Assert.DoesNotContain("   at ", output);
    }

    /// <summary>The published output laid out as the image lays it out: <c>app/</c> and the volume <c>data/</c> in a temporary folder.</summary>
    public sealed partial class Image : IAsyncLifetime
    {
        private readonly string _root = Directory.CreateTempSubdirectory("modelmeter-image-").FullName;

        public Dockerfile Dockerfile { get; } = Dockerfile.Read(Repository.PathOf("Dockerfile"));

        public string App => Path.Combine(_root, "app");

        public string Volume => Path.Combine(_root, "data");

        public string[] EntryPoint => Dockerfile.Words(Dockerfile.All(Dockerfile.Final, "ENTRYPOINT").Single());

        public string[] HealthCheck => Dockerfile.Words(Dockerfile.All(Dockerfile.Final, "HEALTHCHECK").Single());

        public async Task InitializeAsync()
        {
            // The build stage's publish command, as written, into our app/ instead of /app.
            var publish = Dockerfile.All(Dockerfile.Stages[0], "RUN").Single(r => r.StartsWith("dotnet publish", StringComparison.Ordinal));
            var (code, output) = await Shell(InPlace(publish), Repository.Root, TimeSpan.FromMinutes(8));
            Assert.True(code == 0, output);

            // The run stage's steps (the volume's folders, the links to them, the owner) as written, with our paths and user.
            foreach (var run in Dockerfile.All(Dockerfile.Final, "RUN"))
            {
                (code, output) = await Shell("APP_UID=$(id -u)\n" + InPlace(run), App, TimeSpan.FromMinutes(1));
                Assert.True(code == 0, output);
            }
        }

        public Task DisposeAsync()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_root, recursive: true);
            return Task.CompletedTask;
        }

        /// <summary>Starts the entry point in app/ with the image's environment, a free port for <c>ASPNETCORE_HTTP_PORTS</c>, and <paramref name="environment"/>.</summary>
        public async Task<Started> StartAsync(IReadOnlyDictionary<string, string> environment)
        {
            var port = FreePorts.Next();
            var variables = Dockerfile.Environment();
            variables["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var (name, value) in environment)
            {
                variables[name] = value;
            }

            Assert.Equal(["dotnet", "ModelMeter.Server.dll"], EntryPoint); // what ServerProcess runs
            var process = await ServerProcess.StartAsync(App, new Dictionary<string, string?>(), Path.Combine(App, "ModelMeter.Server.dll"), environment: variables);
            return new Started(process, port);
        }

        /// <summary>Runs <paramref name="words"/> in app/ as the image would (<c>docker run IMAGE verb</c>, a health check).</summary>
        public async Task<(int Code, string Output)> RunAsync(string[] words, string stdin = "", IReadOnlyDictionary<string, string>? environment = null)
        {
            var start = new ProcessStartInfo(words[0]) { WorkingDirectory = App, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var word in words[1..])
            {
                start.ArgumentList.Add(word);
            }

            foreach (var (name, value) in Dockerfile.Environment().Concat(environment ?? new Dictionary<string, string>()))
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start)!;
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, await output + await error);
        }

        /// <summary>The image's absolute paths /app and /data as our folders.</summary>
        private string InPlace(string command) => ImagePath().Replace(command, m => Path.Combine(_root, m.Groups[1].Value));

        private static async Task<(int Code, string Output)> Shell(string command, string directory, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
        {
            Directory.CreateDirectory(directory);
            var start = new ProcessStartInfo("bash") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-ec");
            start.ArgumentList.Add(command);
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(limit);
            await process.WaitForExitAsync(timeout.Token);
            return (process.ExitCode, $"{command}\n{await output}{await error}");
        }

        [GeneratedRegex(@"(?<![\w./-])/(app|data)(?=/|\s|$)")]
        private static partial Regex ImagePath();
    }

    /// <summary>A started image: its process and the port it listens on.</summary>
    public sealed class Started(ServerProcess process, int port) : IAsyncDisposable
    {
        public HttpClient Client => process.Client;

        public int Port => port;

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
