using System.Globalization;

namespace Bff.Bench;

/// <summary>Command-line options as <c>--name value</c> pairs.</summary>
internal sealed class Args : Dictionary<string, string>
{
    private Args()
        : base(StringComparer.Ordinal)
    {
    }

    public static Args Parse(string[] args)
    {
        var options = new Args();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return options;
    }

    public int Int(string name, int fallback) =>
        TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public string Required(string name) =>
        TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required.");
}
