using System.Collections.Frozen;
using System.Reflection;

namespace ModelMeter.AspNetCore.Dashboard;

/// <summary>The built-in dashboard: <c>GET /</c> (under MapModelMeter's prefix) and its two files under <c>ui/</c>, embedded in the assembly so it works from any content root.</summary>
internal static class DashboardEndpoints
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> Files = Load();

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        // The page links relative to itself, so that it works under any prefix; it must be served at a path ending in '/'.
        app.MapGet("/", (HttpContext http) => http.Request.Path.Value is { } path && !path.EndsWith('/')
            ? Results.Redirect($"{http.Request.PathBase}{path}/")
            : Serve("index.html")).ExcludeFromDescription();
        app.MapGet("/ui/{file}", (string file) => Serve(file)).ExcludeFromDescription();
    }

    private static IResult Serve(string file) =>
        Files.TryGetValue(file, out var entry) ? Results.Bytes(entry.Bytes, entry.ContentType) : Results.NotFound();

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
