using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace Bff.Configuration;

/// <summary>
/// A settings class bound from a subsection of <c>Bff</c> by its own options registration (<c>Bff:Spa</c> →
/// <c>SpaOptions</c>), so the strict check knows its keys too. Registered by <see cref="SettingsBinding.BindBffSection{T}"/>.
/// </summary>
internal sealed record BffSettingsSection(string Name, Type SettingsType);

/// <summary>One key that cannot be read as written, with the line start-up prints for it.</summary>
internal sealed record SettingProblem(string Key, string Message);

/// <summary>
/// A string setting that may also be written as an array (<c>"Scopes": ["openid", "api"]</c>, <c>Bff__Scopes__0=openid</c>):
/// the entries are joined with <see cref="Separator"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ArrayAcceptedAttribute(string separator) : Attribute
{
    public string Separator { get; } = separator;
}

/// <summary>
/// Walks the raw configuration under <c>Bff</c> against the settings classes, by reflection, before anything is bound:
/// every key must name a public settable property of the class at its level (case-insensitive, as the binder reads
/// them), and every value must read as its property's type with nothing guessed. The configuration binder is lenient
/// where an operator's mistake should stop start-up: it ignores unknown keys and arrays written for a string, reads
/// "8" as eight days, and accepts enum numbers and comma lists, which it turns into values no setting defines.
/// </summary>
internal static class SettingsShape
{
    private const int LongestEchoedValue = 24;

    /// <summary>Every problem in the <c>Bff</c> section, in the order the keys appear.</summary>
    public static List<SettingProblem> Check(IConfiguration configuration, IEnumerable<BffSettingsSection> sections)
    {
        var root = configuration.GetSection(BffOptions.SectionName);
        var problems = new List<SettingProblem>();
        var shape = ClassShape.Of(typeof(BffOptions), sections);
        CheckClass(root, BffOptions.SectionName, shape, (shape, BffOptions.SectionName), problems);
        return problems;
    }

    /// <summary>The problems of one subsection only (<c>Bff:Spa</c>), read as <paramref name="type"/>.</summary>
    public static List<SettingProblem> Check(IConfigurationSection section, string canonicalPath, Type type)
    {
        var problems = new List<SettingProblem>();
        var shape = ClassShape.Of(type, []);
        CheckClass(section, canonicalPath, shape, (shape, canonicalPath), problems);
        return problems;
    }

    /// <summary>Reads an enum value by one of its names only (any case), never by number or as a comma list.</summary>
    public static bool TryParseName<TEnum>(string? value, out TEnum result)
        where TEnum : struct, Enum
    {
        object? parsed = null;
        var read = value is not null && TryRead(value, typeof(TEnum), out parsed);
        result = read ? (TEnum)parsed! : default;
        return read;
    }

    private static void CheckClass(IConfigurationSection section, string canonicalPath, ClassShape shape, (ClassShape Shape, string Path) root, List<SettingProblem> problems)
    {
        if (!string.IsNullOrEmpty(section.Value))
        {
            problems.Add(new(section.Path, $"{section.Path} takes settings, not a value: write them as {canonicalPath}:<name> (see the README's configuration reference)."));
        }

        foreach (var child in section.GetChildren())
        {
            if (shape.Settings.TryGetValue(child.Key, out var setting))
            {
                CheckSetting(child, canonicalPath + ":" + setting.Name, setting, root, problems);
            }
            else
            {
                ReportUnknown(child, canonicalPath, shape, root, problems);
            }
        }
    }

    private static void CheckSetting(IConfigurationSection section, string canonicalPath, Setting setting, (ClassShape Shape, string Path) root, List<SettingProblem> problems)
    {
        switch (setting.Kind)
        {
            case SettingKind.Class:
                CheckClass(section, canonicalPath, ClassShape.Of(setting.Type, []), root, problems);
                break;
            case SettingKind.List:
                CheckList(section, canonicalPath, setting, root, problems);
                break;
            case SettingKind.Dictionary:
                if (!string.IsNullOrEmpty(section.Value))
                {
                    problems.Add(new(section.Path, $"{section.Path} takes named entries, not a value: write them as {canonicalPath}:<name>."));
                }

                foreach (var entry in section.GetChildren())
                {
                    CheckSetting(entry, canonicalPath + ":" + entry.Key, setting.Element!, root, problems);
                }

                break;
            case SettingKind.Unsupported:
                problems.Add(new(section.Path, $"{section.Path} has a type ({setting.Type.Name}) the gateway cannot read from configuration."));
                break;
            default:
                if (setting.ArraySeparator is not null)
                {
                    CheckList(section, canonicalPath, setting, root, problems);
                    break;
                }

                if (section.GetChildren().Any())
                {
                    problems.Add(new(section.Path, $"{section.Path} takes one value, not a list or section ({string.Join(", ", Leaves(section))})."));
                }
                else if (section.Value is { } value && !TryRead(value, setting.Type, out _))
                {
                    problems.Add(new(section.Path, Describe(section.Path, value, setting)));
                }

                break;
        }
    }

    /// <summary>A list: entries numbered 0, 1, …, each read as the element type; or one separated value.</summary>
    private static void CheckList(IConfigurationSection section, string canonicalPath, Setting setting, (ClassShape Shape, string Path) root, List<SettingProblem> problems)
    {
        var element = setting.Element ?? Setting.Leaf(typeof(string));
        var separator = setting.ArraySeparator ?? ",";
        var separated = separator == " " ? "space-separated" : "comma-separated";
        if (!string.IsNullOrEmpty(section.Value))
        {
            if (element.Type != typeof(string))
            {
                problems.Add(new(section.Path, $"{section.Path} is a list: write its entries as {canonicalPath}:0, {canonicalPath}:1, … (an array in JSON)."));
            }
        }

        foreach (var entry in section.GetChildren())
        {
            if (!int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                foreach (var leaf in Leaves(entry))
                {
                    problems.Add(new(leaf, $"{leaf} is not a setting: write list entries as {canonicalPath}:0, {canonicalPath}:1, … (an array in JSON), or as one {separated} value."));
                }

                continue;
            }

            CheckSetting(entry, canonicalPath + ":" + entry.Key, element, root, problems);
        }
    }

    private static void ReportUnknown(IConfigurationSection child, string canonicalParent, ClassShape shape, (ClassShape Shape, string Path) root, List<SettingProblem> problems)
    {
        var meant = ClosestName(child.Key, shape.Settings.Values.Select(s => s.Name));
        foreach (var leaf in Leaves(child))
        {
            var rest = leaf.Length > child.Path.Length ? leaf[child.Path.Length..] : string.Empty;
            var suggestion = meant is not null
                ? canonicalParent + ":" + meant + rest
                : SameNameElsewhere(leaf, root);
            problems.Add(new(leaf, suggestion is not null
                ? $"{leaf} is not a setting; did you mean {suggestion}?"
                : $"{leaf} is not a setting (the settings are listed in the README's configuration reference)."));
        }
    }

    /// <summary>A setting written in the wrong section (<c>Bff:IdleTimeout</c>): the one setting anywhere with that name.</summary>
    private static string? SameNameElsewhere(string leaf, (ClassShape Shape, string Path) root)
    {
        var name = leaf[(leaf.LastIndexOf(':') + 1)..];
        var matches = KnownKeys(root.Path, root.Shape)
            .Where(k => k.EndsWith(":" + name, StringComparison.OrdinalIgnoreCase))
            .ToList();
        return matches.Count == 1 ? matches[0] : null;
    }

    /// <summary>The canonical key of every setting (lists and dictionaries as themselves, not their entries).</summary>
    public static IEnumerable<string> KnownKeys(string prefix, ClassShape shape)
    {
        foreach (var setting in shape.Settings.Values.DistinctBy(s => s.Name))
        {
            var key = prefix + ":" + setting.Name;
            if (setting.Kind == SettingKind.Class)
            {
                foreach (var nested in KnownKeys(key, ClassShape.Of(setting.Type, [])))
                {
                    yield return nested;
                }
            }
            else
            {
                yield return key;
            }
        }
    }

    /// <summary>
    /// The known name a misspelling most likely meant: the nearest by edit distance (a swap of two letters counts once)
    /// when that is small for the name's length, or the one name it is the start of.
    /// </summary>
    private static string? ClosestName(string written, IEnumerable<string> names)
    {
        var candidates = names.Distinct(StringComparer.Ordinal).ToList();
        var allowed = written.Length <= 4 ? 1 : written.Length <= 8 ? 2 : 3;
        var scored = candidates
            .Select(n => (Name: n, Distance: EditDistance(written.ToUpperInvariant(), n.ToUpperInvariant())))
            .Where(c => c.Distance <= allowed)
            .OrderBy(c => c.Distance)
            .ToList();
        if (scored.Count > 0 && (scored.Count == 1 || scored[0].Distance < scored[1].Distance))
        {
            return scored[0].Name;
        }

        var extended = candidates.Where(n => written.Length >= 3 && n.StartsWith(written, StringComparison.OrdinalIgnoreCase)).ToList();
        return extended.Count == 1 ? extended[0] : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>The paths of the values under a section (the section itself when it holds a value or nothing).</summary>
    private static List<string> Leaves(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            return [section.Path];
        }

        var leaves = children.SelectMany(Leaves).ToList();
        if (!string.IsNullOrEmpty(section.Value))
        {
            leaves.Insert(0, section.Path);
        }

        return leaves;
    }

    /// <summary>
    /// Reads a value the way the binder will, refusing what it would guess at. Strict where the binder is not: a time
    /// span needs its colons, an enum its name.
    /// </summary>
    public static bool TryRead(string value, Type type, out object? result)
    {
        result = null;
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            // The binder leaves a nullable setting null for an empty value.
            return value.Length == 0 || TryRead(value, underlying, out result);
        }

        var text = value.Trim();
        if (type == typeof(string))
        {
            result = value;
            return true;
        }

        if (type == typeof(bool))
        {
            var ok = bool.TryParse(text, out var b);
            result = b;
            return ok;
        }

        if (type == typeof(int))
        {
            var ok = int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i);
            result = i;
            return ok;
        }

        if (type == typeof(long))
        {
            var ok = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l);
            result = l;
            return ok;
        }

        if (type == typeof(double))
        {
            var ok = double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var d)
                && double.IsFinite(d);
            result = d;
            return ok;
        }

        if (type == typeof(TimeSpan))
        {
            // "8" would be eight days and "60" sixty: only [d.]hh:mm[:ss[.fffffff]] says which unit is meant.
            if (text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
            {
                result = span;
                return true;
            }

            return false;
        }

        if (type.IsEnum)
        {
            var name = Enum.GetNames(type).FirstOrDefault(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            result = name is null ? null : Enum.Parse(type, name);
            return name is not null;
        }

        if (type == typeof(Uri))
        {
            var ok = Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out var uri);
            result = uri;
            return ok;
        }

        return false;
    }

    private static string Describe(string key, string value, Setting setting)
    {
        var type = Nullable.GetUnderlyingType(setting.Type) ?? setting.Type;
        var advice = type == typeof(TimeSpan) ? $"write a time span as hh:mm:ss (d.hh:mm:ss for days), for example {Example(setting, TimeSpan.FromMinutes(30))}"
            : type.IsEnum ? EnumAdvice(value, type, setting)
            : type == typeof(bool) ? "write true or false"
            : type == typeof(int) || type == typeof(long) ? $"write a whole number{(type == typeof(int) ? " (at most 2147483647)" : string.Empty)}, for example {Example(setting, 1)}"
            : type == typeof(double) ? $"write a number with '.' for decimals, for example {Example(setting, 0.5)}"
            : type == typeof(Uri) ? "write a URL"
            : $"it cannot be read as {type.Name}";
        var kind = type == typeof(TimeSpan) ? "a time span"
            : type.IsEnum ? "one of its names"
            : type == typeof(bool) ? "true or false"
            : type == typeof(double) ? "a number"
            : type == typeof(int) || type == typeof(long) ? "a whole number"
            : $"a {type.Name}";

        // A long value is not repeated: it may be a secret written under the wrong key.
        return value.Length <= LongestEchoedValue
            ? $"{key} is '{value}': {advice}."
            : $"{key} is not {kind}: {advice}.";
    }

    /// <summary>
    /// The names to write: those an <see cref="AllowedValuesAttribute"/> lists when there is one (SameSite: not None,
    /// which the validator refuses with its reason), and the name the value probably meant.
    /// </summary>
    private static string EnumAdvice(string value, Type type, Setting setting)
    {
        var names = setting.Property?.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed
            ? allowed.Values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)!).ToArray()
            : Enum.GetNames(type);
        var meant = ClosestName(value.Trim(), names);
        return $"write one of {string.Join(", ", names)}" + (meant is null ? string.Empty : $" (did you mean {meant}?)");
    }

    private static string Example(Setting setting, object fallback)
    {
        var value = setting.Default is TimeSpan t && t > TimeSpan.Zero ? t
            : setting.Default is int or long or double && !Equals(setting.Default, 0) && !Equals(setting.Default, 0L) && !Equals(setting.Default, 0d) ? setting.Default
            : fallback;
        return value is TimeSpan span ? span.ToString("c", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture)!;
    }

    internal enum SettingKind
    {
        Value,
        Class,
        List,
        Dictionary,
        Unsupported,
    }

    /// <summary>What one property accepts.</summary>
    internal sealed record Setting(string Name, Type Type, SettingKind Kind, Setting? Element, string? ArraySeparator, object? Default)
    {
        public PropertyInfo? Property { get; init; }

        public static Setting Leaf(Type type) => Of(string.Empty, type, null, null);

        public static Setting Of(string name, Type type, string? arraySeparator, object? defaults)
        {
            var underlying = Nullable.GetUnderlyingType(type) ?? type;
            if (IsValue(underlying))
            {
                return new(name, type, SettingKind.Value, null, arraySeparator, defaults);
            }

            if (DictionaryValue(type) is { } value)
            {
                return new(name, type, SettingKind.Dictionary, Of(string.Empty, value, null, null), null, defaults);
            }

            if (ListElement(type) is { } element)
            {
                return new(name, type, SettingKind.List, Of(string.Empty, element, null, null), null, defaults);
            }

            return type.IsClass && !typeof(IEnumerable).IsAssignableFrom(type) && type.GetConstructor(Type.EmptyTypes) is not null
                ? new(name, type, SettingKind.Class, null, null, defaults)
                : new(name, type, SettingKind.Unsupported, null, null, defaults);
        }

        private static bool IsValue(Type type) =>
            type == typeof(string) || type == typeof(bool) || type == typeof(int) || type == typeof(long) || type == typeof(double)
            || type == typeof(TimeSpan) || type == typeof(Uri) || type.IsEnum;

        private static Type? ListElement(Type type)
        {
            if (type.IsArray)
            {
                return type.GetElementType();
            }

            if (!type.IsGenericType || type.GetGenericArguments().Length != 1)
            {
                return null;
            }

            var definition = type.GetGenericTypeDefinition();
            return definition == typeof(IList<>) || definition == typeof(List<>) || definition == typeof(ICollection<>)
                || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>)
                || definition == typeof(ISet<>) || definition == typeof(HashSet<>)
                ? type.GetGenericArguments()[0]
                : null;
        }

        private static Type? DictionaryValue(Type type)
        {
            if (!type.IsGenericType || type.GetGenericArguments() is not [var key, var value] || key != typeof(string))
            {
                return null;
            }

            var definition = type.GetGenericTypeDefinition();
            return definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)
                ? value
                : null;
        }
    }

    /// <summary>The settings of one class by the key the binder reads them from (case-insensitive).</summary>
    internal sealed class ClassShape
    {
        private ClassShape(Dictionary<string, Setting> settings) => Settings = settings;

        public Dictionary<string, Setting> Settings { get; }

        public static ClassShape Of(Type type, IEnumerable<BffSettingsSection> sections)
        {
            var defaults = type.GetConstructor(Type.EmptyTypes) is not null ? Activator.CreateInstance(type) : null;
            var settings = new Dictionary<string, Setting>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!IsBound(property))
                {
                    continue;
                }

                var name = property.GetCustomAttribute<Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute>()?.Name ?? property.Name;
                settings[name] = Setting.Of(name, property.PropertyType, property.GetCustomAttribute<ArrayAcceptedAttribute>()?.Separator, defaults is null ? null : property.GetValue(defaults)) with { Property = property };
            }

            foreach (var section in sections)
            {
                settings[section.Name] = new(section.Name, section.SettingsType, SettingKind.Class, null, null, null);
            }

            return new ClassShape(settings);
        }

        /// <summary>
        /// What the binder writes: a public property with a public setter, or a get-only settings class or collection it
        /// fills in place. A computed property (<c>ScopeList</c>) is not a setting.
        /// </summary>
        private static bool IsBound(PropertyInfo property)
        {
            if (property.GetMethod is not { IsPublic: true } || property.GetIndexParameters().Length > 0)
            {
                return false;
            }

            if (property.SetMethod is { IsPublic: true })
            {
                return true;
            }

            var type = property.PropertyType;
            if (!type.IsValueType && type != typeof(string) && !type.IsInterface)
            {
                return true;
            }

            return type.IsGenericType && type.GetGenericTypeDefinition() is var d
                && (d == typeof(IList<>) || d == typeof(ICollection<>) || d == typeof(IDictionary<,>));
        }
    }
}
