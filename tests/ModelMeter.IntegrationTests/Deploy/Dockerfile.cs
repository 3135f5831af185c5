using System.Text.RegularExpressions;

namespace ModelMeter.IntegrationTests.Deploy;

/// <summary>The repository's Dockerfile, read by instruction (continuation lines joined), with its stages apart.</summary>
public sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<(string Instruction, string Arguments)>[] stages) => Stages = stages;

    /// <summary>Each <c>FROM</c> stage's instructions, in order.</summary>
    public IReadOnlyList<(string Instruction, string Arguments)>[] Stages { get; }

    /// <summary>The stage the image runs.</summary>
    public IReadOnlyList<(string Instruction, string Arguments)> Final => Stages[^1];

    public static Dockerfile Read(string path)
    {
        var text = Continuation().Replace(File.ReadAllText(path), " ");
        var stages = new List<List<(string, string)>>();
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var parts = line.Split(' ', 2);
            var instruction = parts[0].ToUpperInvariant();
            if (instruction == "FROM")
            {
                stages.Add([]);
            }

            stages[^1].Add((instruction, parts.Length > 1 ? parts[1].Trim() : ""));
        }

        return new Dockerfile([.. stages]);
    }

    /// <summary>The arguments of every <paramref name="instruction"/> in <paramref name="stage"/>.</summary>
    public static IEnumerable<string> All(IEnumerable<(string Instruction, string Arguments)> stage, string instruction) =>
        stage.Where(i => i.Instruction == instruction).Select(i => i.Arguments);

    /// <summary>The final stage's environment (<c>ENV NAME=value</c>).</summary>
    public Dictionary<string, string> Environment() =>
        All(Final, "ENV").SelectMany(e => EnvPair().Matches(e)).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    /// <summary>A JSON-array instruction's words (<c>["dotnet", "x.dll"]</c>).</summary>
    public static string[] Words(string execForm) =>
        System.Text.Json.JsonSerializer.Deserialize<string[]>(execForm[execForm.IndexOf('[')..]) ?? [];

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex Continuation();

    [GeneratedRegex(@"(\w+)=(\S+)")]
    private static partial Regex EnvPair();
}
