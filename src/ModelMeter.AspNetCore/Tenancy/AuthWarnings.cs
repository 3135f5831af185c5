using Microsoft.Extensions.Options;
using ModelMeter.AspNetCore.Configuration;

namespace ModelMeter.AspNetCore.Tenancy;

/// <summary>Says at start what an auth configuration locks that its owner may not expect: with auth on and no admin key, nobody reaches the dashboard and cost API.</summary>
internal sealed partial class AuthWarnings(IOptions<ModelMeterOptions> options, ILogger<AuthWarnings> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value.Auth;
        if (auth.Enabled && auth.AdminKeySha256 is null)
        {
            LogAdminLocked();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message =
        "Auth is on and ModelMeter:Auth:AdminKeySha256 is not set: the dashboard and /api/costs answer 401 to everyone. " +
        "Set it to the SHA-256 (hex) of an admin key: echo \"$ADMIN_KEY\" | ModelMeter.Server hash-key (or printf %s \"$ADMIN_KEY\" | sha256sum)")]
    private partial void LogAdminLocked();
}
