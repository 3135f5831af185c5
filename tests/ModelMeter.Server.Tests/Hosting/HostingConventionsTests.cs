using System.Net;

namespace ModelMeter.Server.Tests.Hosting;

/// <summary>Where the server listens and who may reach it, the way ASP.NET Core users expect.</summary>
public sealed class HostingConventionsTests : IDisposable
{
    private readonly string _contentRoot = Directory.CreateTempSubdirectory("modelmeter-hosting-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }

    [Fact]
    public async Task AspNetCoreUrls_FromTheEnvironment_IsWhereItListens()
    {
        var port = FreePorts.Next();

        await using var server = await ServerProcess.StartAsync(_contentRoot, OneModel(), environment: new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });

        Assert.Equal(port, server.Client.BaseAddress!.Port);
        Assert.True((await server.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task HttpPorts_AllInterfacesWithAuthOff_RefusesToStartNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<ServerProcess.ServerExitedException>(() =>
            ServerProcess.StartAsync(_contentRoot, OneModel(), environment: new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = FreePorts.Next().ToString() }));

        Assert.Contains("AllowAnonymousRemote", error.Message);
    }

    [Fact]
    public async Task HttpPorts_AllInterfacesWithAllowAnonymousRemote_StartsAndWarns()
    {
        var settings = OneModel();
        settings["ModelMeter:Auth:AllowAnonymousRemote"] = "true";
        var port = FreePorts.Next();

        await using var server = await ServerProcess.StartAsync(_contentRoot, settings, environment: new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = port.ToString() });

        Assert.Equal(port, server.Client.BaseAddress!.Port);
        Assert.True((await server.Client.GetAsync("/healthz")).IsSuccessStatusCode);
    }

    [Fact]
    public async Task KestrelEndpoint_AllInterfacesWithAuthOff_RefusesToStartFromWhatKestrelBound()
    {
        // Kestrel:Endpoints wins over --urls: only the addresses Kestrel actually bound tell where the server listens.
        var settings = OneModel();
        settings["Kestrel:Endpoints:Http:Url"] = $"http://0.0.0.0:{FreePorts.Next()}";

        var error = await Assert.ThrowsAsync<ServerProcess.ServerExitedException>(() => ServerProcess.StartAsync(_contentRoot, settings));

        Assert.Contains("AllowAnonymousRemote", error.Message);
        Assert.Contains("0.0.0.0", error.Message);
    }

    [Fact]
    public async Task Loopback_ForeignHostHeader_Gets400()
    {
        await using var server = await RunningServer.StartAsync(OneModel(), waitUntilReady: false);
        using var rebinding = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { Host = "attacker.example" } };
        using var local = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Headers = { Host = "localhost:8000" } };

        Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.SendAsync(rebinding)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(local)).StatusCode);
    }

    private static Dictionary<string, string?> OneModel() => RunningServer.DemoSettings(models: "demo-small");
}
