using System.Text.RegularExpressions;
using Bff.Tests.Browser;

namespace Bff.Tests;

/// <summary>
/// The library's folders import one way, from the composition down to the leaves, and its README lists who imports
/// whom. A folder's imports are read from its source: the types of other folders it names (in code or in a
/// <c>cref</c>) and the namespaces it opens with <c>using</c>.
/// </summary>
public sealed partial class LayeringTests
{
    /// <summary>Top to bottom. A folder may import folders of lower layers only; folders of one layer import none of each other.</summary>
    private static readonly string[][] Layers =
    [
        ["(root)"],
        ["Hosting"],
        ["Endpoints", "Proxy", "LocalApis", "Spa", "Redis", "Admin"],
        ["Authentication", "Authorization", "Tokens", "Csrf"],
        ["Sessions"],
        ["Provider"],
        ["DPoP"],
        ["Errors"],
        ["Observability"],
        ["Configuration"],
    ];

    private static readonly string Library = Path.Combine(DemoComposition.RepositoryRoot, "Bff");

    [Fact]
    public void Every_folder_of_the_library_has_a_layer()
    {
        var layered = Layers.SelectMany(l => l).ToHashSet(StringComparer.Ordinal);
        var unlayered = SourceFiles().Select(f => f.Folder).Distinct().Where(f => !layered.Contains(f)).ToList();

        Assert.Empty(unlayered);
    }

    [Fact]
    public void No_folder_imports_a_folder_of_its_own_layer_or_above()
    {
        var layerOf = Layers.SelectMany((folders, layer) => folders.Select(f => (f, layer))).ToDictionary(p => p.f, p => p.layer);
        var upward = Imports()
            .SelectMany(pair => pair.Value.Select(imported => (Folder: pair.Key, Imported: imported)))
            .Where(i => layerOf.TryGetValue(i.Folder, out var from) && layerOf.TryGetValue(i.Imported, out var to) && to <= from)
            .Select(i => $"{i.Folder} imports {i.Imported}: {string.Join(", ", Evidence(i.Folder, i.Imported))}")
            .ToList();

        Assert.True(upward.Count == 0, string.Join(Environment.NewLine, upward));
    }

    [Fact]
    public void The_library_readme_lists_each_folders_imports_as_they_are()
    {
        var readme = File.ReadAllLines(Path.Combine(Library, "README.md"));
        var listed = readme
            .Select(line => ReadmeRow().Match(line))
            .Where(m => m.Success)
            .ToDictionary(
                m => m.Groups["folder"].Value,
                m => string.Join(", ", m.Groups["imports"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(s => s.Trim('`')).Where(s => s != "nothing")),
                StringComparer.Ordinal);
        var actual = Imports().ToDictionary(p => p.Key, p => string.Join(", ", p.Value), StringComparer.Ordinal);
        var order = Layers.SelectMany(l => l).ToList();
        var expectedRows = actual.OrderBy(p => order.IndexOf(p.Key))
            .Select(p => $"| `{p.Key}` | {(p.Value.Length == 0 ? "nothing" : string.Join(", ", p.Value.Split(", ").Select(f => $"`{f}`")))} |");

        Assert.True(
            actual.Count == listed.Count && actual.All(p => listed.TryGetValue(p.Key, out var l) && l == p.Value),
            "Bff/README.md's table of imports should read:" + Environment.NewLine + string.Join(Environment.NewLine, expectedRows));
    }

    /// <summary>Each folder and the other folders it imports, in layer order.</summary>
    private static SortedDictionary<string, List<string>> Imports()
    {
        var order = Layers.SelectMany(l => l).ToList();
        var result = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var group in SourceFiles().GroupBy(f => f.Folder))
        {
            var imported = group.SelectMany(f => References(f.Text)).Select(r => r.Folder).Where(f => f != group.Key).Distinct();
            result[group.Key] = [.. imported.OrderBy(f => order.IndexOf(f))];
        }

        return result;
    }

    private static IEnumerable<string> Evidence(string folder, string imported) =>
        SourceFiles().Where(f => f.Folder == folder)
            .SelectMany(f => References(f.Text).Where(r => r.Folder == imported).Select(r => $"{Path.GetFileName(f.Path)} ({r.Name})"))
            .Distinct()
            .Take(5);

    /// <summary>The other folders' types a source file names, and the library namespaces it opens.</summary>
    private static IEnumerable<(string Folder, string Name)> References(string text)
    {
        foreach (Match opened in UsingLine().Matches(text))
        {
            var ns = opened.Groups["ns"].Value;
            yield return (ns.Length == 0 ? "(root)" : ns, "using");
        }

        var code = Code(text);
        var types = TypesByName();
        foreach (Match word in Identifier().Matches(code))
        {
            if (types.TryGetValue(word.Value, out var folder))
            {
                yield return (folder, word.Value);
            }
        }

        // A type named through its namespace (Observability.BffLog, Bff.Tokens.TokenSet): the name itself follows a dot.
        foreach (Match qualified in Qualified().Matches(code))
        {
            if (types.TryGetValue(qualified.Groups["type"].Value, out var folder) && folder == qualified.Groups["folder"].Value)
            {
                yield return (folder, qualified.Groups["type"].Value);
            }
        }
    }

    /// <summary>The text without comments and string literals, plus the targets of <c>cref</c>s (a compile-time reference too).</summary>
    private static string Code(string text)
    {
        var crefs = string.Join(' ', Cref().Matches(text).Select(m => m.Groups[1].Value));
        var code = UsingLine().Replace(text, string.Empty);
        code = CommentOrString().Replace(code, " ");
        return code + " " + crefs;
    }

    private static Dictionary<string, string>? _typesByName;

    /// <summary>Top-level type names (and extension methods) of the library, each with its folder.</summary>
    private static Dictionary<string, string> TypesByName()
    {
        if (_typesByName is not null)
        {
            return _typesByName;
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in SourceFiles())
        {
            foreach (Match type in TopLevelType().Matches(file.Text))
            {
                map[type.Groups["name"].Value] = file.Folder;
            }

            foreach (Match extension in ExtensionMethod().Matches(file.Text))
            {
                map[extension.Groups["name"].Value] = file.Folder;
            }
        }

        return _typesByName = map;
    }

    private static List<(string Path, string Folder, string Text)>? _sources;

    private static List<(string Path, string Folder, string Text)> SourceFiles() => _sources ??=
    [
        .. Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(p =>
            {
                var relative = Path.GetRelativePath(Library, p).Split(Path.DirectorySeparatorChar);
                return (p, relative.Length == 1 ? "(root)" : relative[0], File.ReadAllText(p));
            }),
    ];

    [GeneratedRegex(@"^using\s+(?:static\s+)?Bff(?:\.(?<ns>\w+))?[\w.]*;", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    [GeneratedRegex(@"^(?:(?:public|internal|static|sealed|abstract|partial|readonly|file)\s+)*(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex TopLevelType();

    [GeneratedRegex(@"public\s+static\s+[\w<>\[\]?,. ]+?\s+(?<name>\w+)\s*(?:<[^>]*>)?\s*\(\s*this\s")]
    private static partial Regex ExtensionMethod();

    [GeneratedRegex(@"cref=""([^""]+)""")]
    private static partial Regex Cref();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|@""(?:""""|[^""])*""|\$?""(?:\\.|[^""\\\n])*""", RegexOptions.Singleline)]
    private static partial Regex CommentOrString();

    /// <summary>
    /// A name that may be a type: not a member access (<c>options.UserEndpoint</c>) nor a member's declaration or
    /// initialisation (<c>UserEndpoint { get; set; }</c>, <c>UserEndpoint = …</c>), which share names with types.
    /// </summary>
    [GeneratedRegex(@"(?<![\w.])[A-Z]\w*\b(?!\s*(?:\{\s*(?:get|set|init)\b|=(?![=>])))")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"(?<![\w.])(?:Bff\.)?(?<folder>[A-Z]\w*)\.(?<type>[A-Z]\w*)")]
    private static partial Regex Qualified();

    /// <summary>A row of the README's table: <c>| `Folder` | `A`, `B` |</c>.</summary>
    [GeneratedRegex(@"^\|\s*`(?<folder>[^`]+)`\s*\|\s*(?<imports>[^|]*)\|")]
    private static partial Regex ReadmeRow();
}
