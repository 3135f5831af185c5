using System.Net;

namespace ModelMeter.Server.Hosting;

/// <summary>
/// Where the host will listen, read with ASP.NET Core's precedence: <c>Kestrel:Endpoints</c> win over <c>urls</c>
/// (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>Urls</c>), which win over <c>HTTP_PORTS</c>/<c>HTTPS_PORTS</c>
/// (<c>ASPNETCORE_HTTP_PORTS=8080</c>, set by the .NET container images); and whether that is loopback only.
/// </summary>
internal static class ListenAddresses
{
    /// <summary>The address when nothing says otherwise.</summary>
    public const string Default = "http://127.0.0.1:8000";

    /// <summary>The loopback names a browser may send as <c>Host</c>.</summary>
    public const string LoopbackHosts = "localhost;127.0.0.1;[::1]";

    /// <summary>The addresses the configuration names, in the form Kestrel takes them; empty when it names none.</summary>
    public static IReadOnlyList<string> Configured(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToList();
        if (endpoints.Count > 0)
        {
            return endpoints;
        }

        var urls = configuration["urls"];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            return urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        // Ports alone bind every interface.
        return [.. Ports(configuration["http_ports"], "http"), .. Ports(configuration["https_ports"], "https")];
    }

    /// <summary>Whether <paramref name="url"/> (as Kestrel reports or is given it) is on loopback only; wildcards and other hosts are not.</summary>
    public static bool IsLoopback(string url)
    {
        var host = url.Split("://", 2) is [_, var rest] ? rest : url;
        host = host.Split('/', 2)[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }

    private static IEnumerable<string> Ports(string? ports, string scheme) =>
        (ports ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(port => $"{scheme}://*:{port}");
}
