using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ModelMeter.AspNetCore.Hosting;

/// <summary>Where this server can be reached from itself, once it listens.</summary>
internal static class ServerAddresses
{
    /// <summary>The first address the server listens on, a wildcard host (<c>*</c>, <c>+</c>, <c>[::]</c>, <c>0.0.0.0</c>) as 127.0.0.1; null before it listens.</summary>
    public static Uri? Local(IServer server)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null || !Uri.TryCreate(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1"), UriKind.Absolute, out var uri))
        {
            return null;
        }

        return uri.Host is "[::]" or "::" or "0.0.0.0" ? new UriBuilder(uri) { Host = "127.0.0.1" }.Uri : uri;
    }
}
