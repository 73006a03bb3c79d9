using System.Reflection;
using Microsoft.Extensions.Options;

namespace Bff.Configuration;

/// <summary>
/// Binds settings only from values <see cref="SettingsShape"/> accepted, so the configuration binder never meets a value
/// it would throw on or guess at; what was refused is reported by <see cref="SettingsShapeValidator"/>, with every other
/// problem, through the usual start-up validation.
/// </summary>
internal static class SettingsBinding
{
    /// <summary>
    /// Binds <typeparamref name="T"/> from <c>Bff:{name}</c> the same way, and makes the strict check of the <c>Bff</c>
    /// section read <c>Bff:{name}</c> as <typeparamref name="T"/>'s settings.
    /// </summary>
    public static OptionsBuilder<T> BindBffSection<T>(this OptionsBuilder<T> builder, string name)
        where T : class
    {
        builder.Services.AddSingleton(new BffSettingsSection(name, typeof(T)));
        return builder.Configure<IConfiguration>((options, configuration) =>
            Bind(configuration.GetSection(BffOptions.SectionName).GetSection(name), $"{BffOptions.SectionName}:{name}", options));
    }

    public static void Bind(IConfigurationSection section, string canonicalPath, object settings)
    {
        var refused = SettingsShape.Check(section, canonicalPath, settings.GetType()).Select(p => p.Key).ToList();
        var accepted = section.AsEnumerable()
            .Where(kv => kv.Value is not null && !refused.Any(r => IsAtOrUnder(kv.Key, r)))
            .ToList();
        var readable = new ConfigurationBuilder().AddInMemoryCollection(accepted).Build().GetSection(section.Path);
        try
        {
            readable.Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            // Not expected (every value left here read as its type), but if the binder and the check ever disagree, the
            // binder's message names the key and goes out as a refusal, not a stack trace.
            throw new OptionsValidationException(Options.DefaultName, settings.GetType(), [ex.Message]);
        }

        AddWhatTheBinderSkips(readable, settings);
    }

    private static bool IsAtOrUnder(string key, string refused) =>
        string.Equals(key, refused, StringComparison.OrdinalIgnoreCase)
        || key.StartsWith(refused + ":", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The binder ignores a list written as one value (<c>Bff__ForwardedHeaders__KnownNetworks=10.0.0.0/8,fd00::/8</c>)
    /// and an array written for a string (<c>"Scopes": ["openid", "api"]</c>); silently using the defaults instead would
    /// trust no proxy or request the wrong scopes, so both forms are read.
    /// </summary>
    private static void AddWhatTheBinderSkips(IConfigurationSection section, object settings)
    {
        foreach (var setting in SettingsShape.ClassShape.Of(settings.GetType(), []).Settings.Values)
        {
            if (setting.Property is not { } property)
            {
                continue;
            }

            var child = section.GetSection(setting.Name);
            switch (setting.Kind)
            {
                case SettingsShape.SettingKind.Class when property.GetValue(settings) is { } nested:
                    AddWhatTheBinderSkips(child, nested);
                    break;
                case SettingsShape.SettingKind.List when setting.Element?.Type == typeof(string) && !string.IsNullOrWhiteSpace(child.Value):
                    AddEntries(property, settings, child.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case SettingsShape.SettingKind.Dictionary when property.GetValue(settings) is System.Collections.IDictionary named:
                    AddWhatTheBinderSkipsIn(child, named, setting.Element!);
                    break;
                case SettingsShape.SettingKind.Value when setting.ArraySeparator is { } separator && child.GetChildren().Any():
                    // One value from appsettings.json and an array from variables (or the reverse) add up, each entry once.
                    var entries = child.GetChildren().Select(c => c.Value).Prepend(child.Value)
                        .SelectMany(v => (v ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        .Distinct(StringComparer.Ordinal);
                    property.SetValue(settings, string.Join(separator, entries));
                    break;
            }
        }
    }

    /// <summary>The same for named entries (<c>Bff:Authorization:Policies:&lt;name&gt;</c>): settings classes and lists.</summary>
    private static void AddWhatTheBinderSkipsIn(IConfigurationSection section, System.Collections.IDictionary entries, SettingsShape.Setting element)
    {
        foreach (var entry in section.GetChildren())
        {
            var existing = entries.Contains(entry.Key) ? entries[entry.Key] : null;
            if (element.Kind == SettingsShape.SettingKind.Class && existing is not null)
            {
                AddWhatTheBinderSkips(entry, existing);
            }
            else if (element.Kind == SettingsShape.SettingKind.List && (element.Element?.Type ?? typeof(string)) == typeof(string)
                && !string.IsNullOrWhiteSpace(entry.Value))
            {
                var values = entry.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (existing is ICollection<string> { IsReadOnly: false } list)
                {
                    foreach (var value in values)
                    {
                        list.Add(value);
                    }
                }
                else if (existing is null)
                {
                    entries[entry.Key] = new List<string>(values);
                }
            }
        }
    }

    private static void AddEntries(PropertyInfo property, object settings, string[] entries)
    {
        switch (property.GetValue(settings))
        {
            case ICollection<string> { IsReadOnly: false } list:
                foreach (var entry in entries)
                {
                    list.Add(entry);
                }

                break;
            case var existing when property.SetMethod is { IsPublic: true } && property.PropertyType.IsAssignableFrom(typeof(string[])):
                property.SetValue(settings, ((IEnumerable<string>?)existing ?? []).Concat(entries).ToArray());
                break;
        }
    }
}

/// <summary>Reports every key under <c>Bff</c> that <see cref="SettingsShape"/> refused, one line each.</summary>
internal sealed class SettingsShapeValidator(IConfiguration configuration, IEnumerable<BffSettingsSection> sections) : IValidateOptions<BffOptions>
{
    public ValidateOptionsResult Validate(string? name, BffOptions options)
    {
        var problems = SettingsShape.Check(configuration, sections);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => p.Message));
    }
}
