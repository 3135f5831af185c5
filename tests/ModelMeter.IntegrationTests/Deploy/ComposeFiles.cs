using YamlDotNet.Serialization;

namespace ModelMeter.IntegrationTests.Deploy;

/// <summary>The compose files of deploy/compose as Debian's <c>docker-compose config</c> resolves them (anchors merged, paths absolute).</summary>
internal static class ComposeFiles
{
    public static readonly string Directory = Repository.PathOf("deploy", "compose");

    public static IEnumerable<string> All() => System.IO.Directory.GetFiles(Directory, "docker-compose*.yml").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    /// <summary><c>docker-compose -f FILE config</c>'s output, parsed; fails the test with its message when the file is refused.</summary>
    public static Dictionary<object, object?> Config(string file)
    {
        var (code, output) = Tools.RunAsync("docker-compose", Directory, "-f", file, "config").GetAwaiter().GetResult();
        Assert.True(code == 0, $"docker-compose refused {file}:\n{output}");
        return (Dictionary<object, object?>)new Deserializer().Deserialize(new StringReader(output))!;
    }

    public static Dictionary<object, object?> Services(Dictionary<object, object?> config) => (Dictionary<object, object?>)config["services"]!;

    public static Dictionary<object, object?> Service(Dictionary<object, object?> config, string name) => (Dictionary<object, object?>)Services(config)[name]!;

    public static Dictionary<string, string> Environment(Dictionary<object, object?> service) =>
        service.TryGetValue("environment", out var e) && e is Dictionary<object, object?> variables
            ? variables.ToDictionary(v => v.Key.ToString()!, v => v.Value?.ToString() ?? "")
            : [];

    /// <summary>The service's volumes as (source, target) pairs.</summary>
    public static IEnumerable<(string Source, string Target)> Volumes(Dictionary<object, object?> service) =>
        service.TryGetValue("volumes", out var v) && v is List<object?> volumes
            ? volumes.Select(x => x!.ToString()!.Split(':')).Select(p => (p[0], p[1]))
            : [];

    /// <summary>Whether the service runs the image built from this repository's Dockerfile.</summary>
    public static bool IsModelMeter(Dictionary<object, object?> service) =>
        service.TryGetValue("build", out var b) && b is Dictionary<object, object?> build && Path.GetFullPath(build["context"]!.ToString()!) == Path.GetFullPath(Repository.Root);
}
