using System.Collections.Frozen;
using System.Reflection;

namespace ModelMeter.AspNetCore.Dashboard;

/// <summary>The built-in dashboard: <c>GET /</c> or <c>HEAD /</c> (under MapModelMeter's prefix) and its two files under <c>ui/</c>, embedded in the assembly so it works from any content root.</summary>
internal static class DashboardEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> Files = Load();

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        // The page links relative to itself, so that it works under any prefix; it must be served at a path ending in '/'.
        // HEAD too, as a static file server answers it (link checkers and uptime probes use it): Kestrel sends no body.
        string[] methods = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", methods, (HttpContext http) => http.Request.Path.Value is { } path && !path.EndsWith('/')
            ? Results.Redirect($"{http.Request.PathBase}{path}/")
            : Serve(http, "index.html")).ExcludeFromDescription();
        app.MapMethods("/ui/{file}", methods, (HttpContext http, string file) => Serve(http, file)).ExcludeFromDescription();
    }

    /// <summary>Only its own scripts and styles, no framing (clickjacking), no content sniffing.</summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private static IResult Serve(HttpContext http, string file)
    {
        if (!Files.TryGetValue(file, out var entry))
        {
            return Results.NotFound();
        }

        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(entry.Bytes, entry.ContentType);
    }

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        const string prefix = "ModelMeter.Dashboard.wwwroot.";
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(name => name[prefix.Length..], name => (Read(assembly, name), ContentType(name)), StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    };
}
