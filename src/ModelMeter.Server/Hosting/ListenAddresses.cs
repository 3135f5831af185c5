using System.Net;
using Microsoft.AspNetCore.Http;

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

    /// <summary>
    /// What is wrong with <paramref name="address"/> as a place to listen, or null when Kestrel can take it: an
    /// <c>http://</c> or <c>https://</c> URL (a host, <c>*</c>, <c>+</c> or <c>unix:/path</c>) with a port from 0 to 65535.
    /// Kestrel itself finds these only when it binds, with an unhandled exception.
    /// </summary>
    public static string? Problem(string address)
    {
        if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !address.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{address}' is not an http:// or https:// URL";
        }

        try
        {
            var binding = BindingAddress.Parse(address);
            return binding switch
            {
                { IsUnixPipe: true } => null,
                // A port that is not a number is read as part of the host, which Kestrel binds on every interface, port 80.
                { Host: var host } when host.Contains(':') && !(host.StartsWith('[') && host.EndsWith(']')) => $"'{address}' has a port that is not a number",
                { Port: < 0 or > IPEndPoint.MaxPort } => $"'{address}' has port {binding.Port}; a port is 0 to {IPEndPoint.MaxPort}",
                _ => null,
            };
        }
        catch (FormatException)
        {
            return $"'{address}' is not a URL to listen on";
        }
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
