// Checks that the feature folders of each project under src/ import no cycle: `dotnet run eng/folder-cycles.cs`.
// A folder depends on another when one of its files names a type declared only there (comments, strings and
// member accesses left out).
// Prints each project's edges that close a cycle and exits 1 if any project has one. Run by eng/test.sh.
using System.Text.RegularExpressions;

var root = args.Length > 0 ? args[0] : Path.Combine(AppContext.GetData("EntryPointFileDirectoryPath") as string ?? ".", "..");
var failed = false;
foreach (var project in Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories).Select(Path.GetDirectoryName).Order())
{
    var files = Directory.GetFiles(project!, "*.cs", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
        .ToDictionary(f => f, f => Code(File.ReadAllText(f)));
    string Folder(string file) => Path.GetRelativePath(project!, file).Split(Path.DirectorySeparatorChar) is { Length: > 1 } parts ? parts[0] : "(root)";

    // Type names declared in exactly one folder of this project.
    var declared = files.SelectMany(f => Declaration().Matches(f.Value).Select(m => (Name: m.Groups[1].Value, Folder: Folder(f.Key))))
        .Distinct().GroupBy(d => d.Name).Where(g => g.Count() == 1).ToDictionary(g => g.Key, g => g.Single().Folder);
    var edges = new Dictionary<string, HashSet<string>>();
    var why = new Dictionary<(string, string), string>();
    foreach (var (file, code) in files)
    {
        var from = Folder(file);
        foreach (Match word in Identifier().Matches(code))
        {
            if (declared.TryGetValue(word.Value, out var to) && to != from)
            {
                if ((edges.TryGetValue(from, out var set) ? set : edges[from] = []).Add(to))
                {
                    why[(from, to)] = $"{Path.GetRelativePath(project!, file)} names {word.Value}";
                }
            }
        }
    }

    var cyclic = StronglyConnected(edges).Where(c => c.Count > 1).ToList();
    var name = Path.GetFileName(project);
    if (cyclic.Count == 0)
    {
        Console.WriteLine($"{name}: no cycle between {files.Keys.Select(Folder).Distinct().Count()} folders");
        continue;
    }

    failed = true;
    foreach (var component in cyclic)
    {
        Console.WriteLine($"{name}: cycle through {component.Count} folders: {string.Join(", ", component.Order())}");
        foreach (var from in component.Order())
        {
            foreach (var to in edges[from].Where(component.Contains).Order())
            {
                Console.WriteLine($"  {from} -> {to}  ({why[(from, to)]})");
            }
        }
    }
}

return failed ? 1 : 0;

// Tarjan's algorithm: the strongly connected components of the folder graph.
static List<HashSet<string>> StronglyConnected(Dictionary<string, HashSet<string>> edges)
{
    var index = new Dictionary<string, int>();
    var low = new Dictionary<string, int>();
    var stack = new Stack<string>();
    var onStack = new HashSet<string>();
    var result = new List<HashSet<string>>();
    void Visit(string v)
    {
        index[v] = low[v] = index.Count;
        stack.Push(v);
        onStack.Add(v);
        foreach (var w in edges.TryGetValue(v, out var next) ? next : [])
        {
            if (!index.ContainsKey(w))
            {
                Visit(w);
                low[v] = Math.Min(low[v], low[w]);
            }
            else if (onStack.Contains(w))
            {
                low[v] = Math.Min(low[v], index[w]);
            }
        }

        if (low[v] == index[v])
        {
            var component = new HashSet<string>();
            string w;
            do
            {
                w = stack.Pop();
                onStack.Remove(w);
                component.Add(w);
            }
            while (w != v);
            result.Add(component);
        }
    }

    foreach (var v in edges.Keys.Concat(edges.Values.SelectMany(s => s)).Distinct().Order().ToList())
    {
        if (!index.ContainsKey(v))
        {
            Visit(v);
        }
    }

    return result;
}

// The code without comments, string and character literals.
static string Code(string text) => Literal().Replace(text, " ");

partial class Program
{
    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum|delegate\s+\w+)\s+([A-Z]\w*)")]
    private static partial Regex Declaration();

    // A name after a dot is a member (Task.Run, chunk.Usage), not a type of this project.
    [GeneratedRegex(@"(?<![\w.])[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""|'(?:[^'\\\n]|\\.)'", RegexOptions.Singleline)]
    private static partial Regex Literal();
}
