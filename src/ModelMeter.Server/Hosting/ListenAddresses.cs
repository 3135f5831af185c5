using System.Net;

namespace ModelMeter.Server.Hosting;

/// <summary>Where the host will listen, as ASP.NET Core reads it (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>, <c>Urls</c>), and whether that is loopback only.</summary>
internal static class ListenAddresses
{
    /// <summary>The address when nothing says otherwise.</summary>
    public const string Default = "http://127.0.0.1:8000";

    /// <summary>The loopback names a browser may send as <c>Host</c>.</summary>
    public const string LoopbackHosts = "localhost;127.0.0.1;[::1]";

    /// <summary>Whether any of the standard settings names an address.</summary>
    public static bool AreConfigured(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"]) || !string.IsNullOrEmpty(configuration["http_ports"]) || !string.IsNullOrEmpty(configuration["https_ports"]);

    /// <summary>Whether every configured address is a loopback one (ports alone bind every interface).</summary>
    public static bool AreLoopbackOnly(IConfiguration configuration)
    {
        if (!string.IsNullOrEmpty(configuration["http_ports"]) || !string.IsNullOrEmpty(configuration["https_ports"]))
        {
            return false;
        }

        var urls = configuration["urls"];
        return string.IsNullOrEmpty(urls) || urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).All(IsLoopback);
    }

    /// <summary>Whether <paramref name="url"/> (as Kestrel reports or is given it) is on loopback only; wildcards and other hosts are not.</summary>
    public static bool IsLoopback(string url)
    {
        var host = url.Split("://", 2) is [_, var rest] ? rest : url;
        host = host.Split('/', 2)[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}
