namespace ModelMeter.Server.Tests;

/// <summary>One running demo server shared by the tests of <see cref="DemoServerCollection"/>.</summary>
public sealed class DemoServer : IAsyncLifetime
{
    internal RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync(RunningServer.DemoSettings());

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class DemoServerCollection : ICollectionFixture<DemoServer>
{
    public const string Name = "demo server";
}
