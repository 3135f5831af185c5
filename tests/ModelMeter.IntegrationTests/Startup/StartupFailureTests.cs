using System.Net;
using System.Net.Sockets;

namespace ModelMeter.IntegrationTests.Startup;

/// <summary>The server as a user starts it: a failure the user can fix ends with one message saying what to do, and exit code 1.</summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelmeter-startup-").FullName;

    public StartupFailureTests() =>
        File.Copy(Repository.PathOf("src", "ModelMeter.Server", "appsettings.json"), Path.Combine(_directory, "appsettings.json")); // the server's, not whichever project's output copy won

    [Fact]
    public async Task PortTaken_ExitsWith1_SayingHowToPickAnotherPort()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", $"http://127.0.0.1:{port}");

        Assert.Equal(1, code); // not 134, an unhandled exception
        Assert.Contains($"ModelMeter could not listen: Failed to bind to address http://127.0.0.1:{port}", output);
        Assert.Contains("e.g. --urls http://127.0.0.1:8001", output);
        Assert.DoesNotContain("   at ", output); // the message, not the host's stack trace
    }

    [Fact]
    public async Task BadConfiguration_ExitsWith1_NamingEveryKey()
    {
        var (code, output) = await Tools.RunAsync(
            "dotnet", _directory, ServerAssembly, "--urls", "http://127.0.0.1:0", "--ModelMeter:Devices:cpu:HourlyUsd=-1", "--ModelMeter:Limits:MaxTokens=0");

        Assert.Equal(1, code);
        Assert.Contains("problem(s); nothing was started", output);
        Assert.Contains("ModelMeter:Devices:cpu:HourlyUsd: -1 is not a price", output);
        Assert.Contains("ModelMeter:Limits:MaxTokens:", output);
    }

    [Theory]
    [InlineData("http://127.0.0.1:99999", "'http://127.0.0.1:99999' has port 99999")]
    [InlineData("127.0.0.1:8000", "'127.0.0.1:8000' is not an http:// or https:// URL")]
    public async Task UrlsThatAreNoAddress_ExitsWith1_SayingWhy(string urls, string message)
    {
        // Kestrel found these only when binding, and ended the process with an unhandled exception (134).
        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", urls);

        Assert.Equal(1, code);
        Assert.Contains($"ModelMeter could not listen: {message}", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task HttpsWithoutACertificate_ExitsWith1_SayingWhatToGive()
    {
        // HOME is a new folder, so no developer certificate is found whatever this machine has.
        var home = Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName;

        var (code, output) = await Tools.RunAsync("dotnet", _directory, new Dictionary<string, string> { ["HOME"] = home },
            ServerAssembly, "--urls", $"https://127.0.0.1:{FreePorts.Next()}");

        Assert.Equal(1, code); // was 134, Kestrel's unhandled exception
        Assert.Contains("ModelMeter could not listen on HTTPS: Unable to configure HTTPS endpoint.", output);
        Assert.Contains("Kestrel:Certificates:Default:Path", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("missing.pfx", "Could not find file")]
    [InlineData("not-a-certificate.pfx", "")] // a file that is no certificate: the loader's own words
    public async Task HttpsCertificateThatCannotBeLoaded_ExitsWith1_NamingTheSetting(string file, string said)
    {
        File.WriteAllText(Path.Combine(_directory, "not-a-certificate.pfx"), "plain text");

        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", $"https://127.0.0.1:{FreePorts.Next()}",
            $"--Kestrel:Certificates:Default:Path={Path.Combine(_directory, file)}");

        Assert.Equal(1, code); // was 134, with the stack trace
        Assert.Contains("ModelMeter could not load its HTTPS certificate: " + said, output);
        Assert.Contains("Check Kestrel:Certificates:Default:Path", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Theory]
    [InlineData("ModelMeter:Ledger:Durability=Sometimes", "ModelMeter:Ledger:Durability: 'Sometimes' is not one of Strict, Relaxed.")]
    [InlineData("ModelMeter:Devices:cpu:HourlyUsd=abc", "ModelMeter:Devices:cpu:HourlyUsd: 'abc' is not a number.")] // the binder drops the device
    [InlineData("ModelMeter:Models:demo-small:MaxBatch=many", "ModelMeter:Models:demo-small:MaxBatch: 'many' is not a whole number.")] // a backend's own key
    [InlineData("ModelMeter:Devices:cpu:Rates:0:From=tomorrow", "ModelMeter:Devices:cpu:Rates:0:From: 'tomorrow' is not a date and time")] // the binder drops the rate
    [InlineData("ModelMeter:Tenants:acme:RequestsPerMinute=lots", "ModelMeter:Tenants:acme:RequestsPerMinute: 'lots' is not a whole number.")]
    [InlineData("ModelMeter:Devices:cpu:HourlyUsd=1e400", "ModelMeter:Devices:cpu:HourlyUsd: Infinity is not a price; it must be a finite number, zero or more.")] // read as infinity
    [InlineData("ModelMeter:Devices:cpu:Energy:BusyWatts=1e400", "ModelMeter:Devices:cpu:Energy:BusyWatts: Infinity must be a finite number, zero or more.")]
    [InlineData("ModelMeter:Limits:MaxBodyBytes=-5", "ModelMeter:Limits:MaxBodyBytes: -5 must be at least 1.")] // was Kestrel's unhandled exception
    [InlineData("ModelMeter:Allocation:Method=SharedTime,Latency", "ModelMeter:Allocation:Method: 'SharedTime,Latency' is not one of SharedTime, Latency.")] // the binder took it as Latency
    public async Task ValueOfTheWrongKind_ExitsWith1_NamingTheKeyAndWhatItShouldHold(string setting, string message)
    {
        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", "http://127.0.0.1:0", $"--{setting}");

        Assert.Equal(1, code); // not 134, and not a server started without the entry
        Assert.Contains("nothing was started", output);
        Assert.Contains(message, output);
        Assert.DoesNotContain("unknown device", output); // nothing that follows from the bad value
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task StartedFromAFolderWithoutSettings_SaysWhereTheyAre()
    {
        var empty = Directory.CreateTempSubdirectory("modelmeter-nosettings-").FullName;
        try
        {
            var (code, output) = await Tools.RunAsync("dotnet", empty, ServerAssembly, "--urls", "http://127.0.0.1:0");

            Assert.Equal(1, code);
            Assert.Contains("ModelMeter:Models: no models are configured.", output);
            Assert.Contains($"There is no appsettings.json in {empty}", output);
            Assert.Contains("--contentRoot", output);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Theory]
    [InlineData("not a database")]
    [InlineData("a directory")]
    [InlineData("another application's database")]
    public async Task LedgerUnreadable_ExitsWith1_NamingThePathAndWhatToDo(string what)
    {
        var ledger = Path.Combine(_directory, "data", "ledger.db");
        if (what == "a directory")
        {
            Directory.CreateDirectory(ledger);
        }
        else if (what == "another application's database")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ledger)!);
            LedgerFile.WriteOtherDatabase(ledger, "orders");
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ledger)!);
            await File.WriteAllTextAsync(ledger, new string('x', 4096));
        }

        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", "http://127.0.0.1:0");

        Assert.Equal(1, code); // not 134, an unhandled exception
        Assert.Contains($"ModelMeter:Ledger:Path: the ledger at {ledger} cannot be opened", output);
        Assert.Contains("Point Ledger:Path at a SQLite file", output);
        Assert.DoesNotContain("   at ", output);
        if (what == "another application's database")
        {
            Assert.Contains("is a SQLite database of something else, not a ledger", output);
            Assert.Equal("orders", LedgerFile.Schema(ledger)); // no ledger table added to it
        }
    }

    [Fact]
    public async Task AuthOffBeyondLoopback_ExitsWith1_SayingWhatToTurnOn()
    {
        var (code, output) = await Tools.RunAsync("dotnet", _directory, ServerAssembly, "--urls", "http://0.0.0.0:0");

        Assert.Equal(1, code);
        Assert.Contains("ModelMeter:Auth:Enabled: the server would listen beyond loopback", output);
        Assert.DoesNotContain("   at ", output); // the message, not a stack trace
    }

    [Fact]
    public async Task UrlsWinOverHttpPorts_AsInAspNetCore_SoLoopbackWithAuthOffStarts()
    {
        // What the .NET container images set, and what a user overrides with --urls.
        var httpPorts = new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture) };
        await using var server = await ServerProcess.StartAsync(_directory, new Dictionary<string, string?> { ["urls"] = "http://127.0.0.1:0" }, environment: httpPorts);

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
        using var taken = new TcpListener(IPAddress.Any, int.Parse(httpPorts["ASPNETCORE_HTTP_PORTS"], System.Globalization.CultureInfo.InvariantCulture));
        taken.Start(); // the HTTP_PORTS port was not bound
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string ServerAssembly => Path.Combine(AppContext.BaseDirectory, "ModelMeter.Server.dll");
}
