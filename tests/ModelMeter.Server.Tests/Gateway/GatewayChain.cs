namespace ModelMeter.Server.Tests.Gateway;

/// <summary>
/// A back ModelMeter server as its own OS process (the demo models on a CPU device), shared by the chain tests.
/// Each test starts its own front (<c>Backend: OpenAI</c> → the back) in this process.
/// </summary>
public sealed class GatewayChain : IAsyncLifetime
{
    private string _contentRoot = null!;

    internal ServerProcess Back { get; private set; } = null!;

    internal string BackUrl => new Uri(Back.Client.BaseAddress!, "v1").ToString();

    public async Task InitializeAsync()
    {
        _contentRoot = Directory.CreateTempSubdirectory("modelmeter-back-").FullName;
        Back = await ServerProcess.StartAsync(_contentRoot, RunningServer.DemoSettings());
    }

    public async Task DisposeAsync()
    {
        await Back.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_contentRoot, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class GatewayChainCollection : ICollectionFixture<GatewayChain>
{
    public const string Name = "gateway chain";
}
