using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.Server.Hosting;

/// <summary>
/// Once Kestrel listens, reads the addresses it actually bound (whatever configured them: <c>urls</c>, ports,
/// <c>Kestrel:Endpoints</c>, code) and stops the start when one is beyond loopback with auth off, unless
/// <c>ModelMeter:Auth:AllowAnonymousRemote</c> accepts that. The configuration check before the build fails sooner for
/// the common keys; this one cannot be bypassed by another.
/// </summary>
internal sealed partial class AnonymousRemoteGuard(IServer server, IOptions<ModelMeterOptions> options, ILogger<AnonymousRemoteGuard> logger) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value.Auth;
        if (auth.Enabled)
        {
            return Task.CompletedTask;
        }

        var remote = (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []).Where(a => !ListenAddresses.IsLoopback(a)).ToList();
        if (remote.Count == 0)
        {
            return Task.CompletedTask;
        }

        if (auth.AllowAnonymousRemote)
        {
            LogAnonymousRemote(string.Join(", ", remote));
            return Task.CompletedTask;
        }

        throw new InvalidOperationException(
            $"ModelMeter:Auth:Enabled: the server listens beyond loopback ({string.Join(", ", remote)}) with auth off, so anyone who reaches it " +
            "could spend the budget and read every tenant's cost. Turn auth on, listen on 127.0.0.1, or set ModelMeter:Auth:AllowAnonymousRemote=true to accept that.");
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Listening beyond loopback ({Addresses}) with auth off (Auth:AllowAnonymousRemote): anyone who reaches this server can spend its budget and read its costs")]
    private partial void LogAnonymousRemote(string addresses);
}
