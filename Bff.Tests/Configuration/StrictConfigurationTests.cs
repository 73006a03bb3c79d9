using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Bff.Configuration;
using Bff.Spa;
using Bff.Tests.Browser;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Configuration;

/// <summary>
/// Every key under <c>Bff</c> is read as the operator meant it or refused at start-up naming the key: arrays where lists
/// are meant, misspellings, unit-less time spans, wrong types, enum values that are not names. The keys are found by
/// reflection over the settings classes, so a setting added later is covered without touching this file.
/// </summary>
public sealed partial class StrictConfigurationTests
{
    /// <summary>The settings classes and the sections they are bound from.</summary>
    private static readonly (string Prefix, Type Type)[] SettingsSections =
    [
        (BffOptions.SectionName, typeof(BffOptions)),
        (BffOptions.SectionName + ":Spa", typeof(SpaOptions)),
    ];

    public static TheoryData<string> SettingKeys => new(Settings().Select(s => s.Key));

    [Fact]
    public async Task Scopes_written_as_an_array_are_requested_at_sign_in()
    {
        // What appsettings.json's "Scopes": ["openid", "profile", "api"] and Bff__Scopes__0=openid … both produce.
        var settings = new Dictionary<string, string?> { ["Bff:Scopes:0"] = "openid", ["Bff:Scopes:1"] = "profile", ["Bff:Scopes:2"] = "api" };
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, settings);
        using var browser = gateway.CreateBrowser();

        var authorize = await browser.StartSignInAsync(idp);

        Assert.Equal("openid profile api", authorize.Parameters["scope"]);
    }

    [Fact]
    public async Task Scopes_written_as_one_space_separated_value_are_requested_at_sign_in()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?> { ["Bff:Scopes"] = "openid  profile api" });
        using var browser = gateway.CreateBrowser();

        var authorize = await browser.StartSignInAsync(idp);

        Assert.Equal("openid profile api", authorize.Parameters["scope"]);
    }

    [Fact]
    public void Appsettings_json_arrays_are_read_and_json_numbers_for_time_spans_are_refused()
    {
        const string json = """
            {
              "Bff": {
                "Scopes": ["openid", "profile", "api"],
                "ForwardedHeaders": { "KnownNetworks": ["10.0.0.0/8", "fd00::/8"], "KnownProxies": [] },
                "Session": { "IdleTimeout": "00:10:00" }
              }
            }
            """;

        var options = Bind(json);

        Assert.Equal("openid profile api", options.Scopes);
        Assert.Equal(["10.0.0.0/8", "fd00::/8"], options.ForwardedHeaders.KnownNetworks);
        Assert.Empty(options.ForwardedHeaders.KnownProxies);
        Assert.Equal(TimeSpan.FromMinutes(10), options.Session.IdleTimeout);
        Assert.Contains(
            Refusals(json.Replace("\"00:10:00\"", "10", StringComparison.Ordinal)),
            f => f.StartsWith("Bff:Session:IdleTimeout is '10': write a time span as hh:mm:ss", StringComparison.Ordinal));
    }

    [Fact]
    public void Scopes_written_both_ways_add_up_each_once() =>
        Assert.Equal("openid profile api", Bind(("Bff:Scopes", "openid profile"), ("Bff:Scopes:0", "openid"), ("Bff:Scopes:1", "api")).Scopes);

    [Fact]
    public void A_list_written_as_one_comma_separated_value_is_read()
    {
        var options = Bind(("Bff:ForwardedHeaders:KnownNetworks", "10.0.0.0/8, fd00::/8"));

        Assert.Equal(["10.0.0.0/8", "fd00::/8"], options.ForwardedHeaders.KnownNetworks);
    }

    [Fact]
    public void Scopes_written_as_an_array_must_still_contain_openid() =>
        Assert.Contains("Bff:Scopes must contain 'openid'.", Refusals(("Bff:Scopes:0", "profile"), ("Bff:Scopes:1", "api")));

    [Theory]
    [InlineData("Bff:Sesion:Store", "Redis", "Bff:Session:Store")]
    [InlineData("Bff:SESSION:stor", "Redis", "Bff:Session:Store")]
    [InlineData("Bff:Cookie:SameStie", "Lax", "Bff:Cookie:SameSite")]
    [InlineData("Bff:IdleTimeout", "00:10:00", "Bff:Session:IdleTimeout")]
    [InlineData("Bff:Session:SameSite", "Lax", "Bff:Cookie:SameSite")]
    [InlineData("Bff:Spa:Root", "dist", "Bff:Spa:RootPath")]
    public void A_misspelled_or_misplaced_key_is_refused_with_the_key_probably_meant(string key, string value, string meant) =>
        Assert.Contains($"{key} is not a setting; did you mean {meant}?", Refusals((key, value)));

    [Fact]
    public void A_key_nothing_resembles_is_refused_without_a_guess() =>
        Assert.Contains("Bff:Colour is not a setting (the settings are listed in the README's configuration reference).", Refusals(("Bff:Colour", "blue")));

    [Fact]
    public void A_computed_property_is_not_a_setting() =>
        Assert.Contains(Refusals(("Bff:ScopeList:0", "openid")), f => f.StartsWith("Bff:ScopeList:0 is not a setting", StringComparison.Ordinal));

    [Theory]
    [InlineData("8")]
    [InlineData("60")]
    [InlineData("30s")]
    [InlineData("8h")]
    [InlineData("1.5")]
    public void A_time_span_without_colons_is_refused(string value) =>
        Assert.Contains(
            $"Bff:Session:AbsoluteTimeout is '{value}': write a time span as hh:mm:ss (d.hh:mm:ss for days), for example 08:00:00.",
            Refusals(("Bff:Session:AbsoluteTimeout", value)));

    [Theory]
    [InlineData("08:00:00", 8 * 60)]
    [InlineData("8:00", 8 * 60)]
    [InlineData("1.00:00:00", 24 * 60)]
    public void A_time_span_with_colons_is_read_as_written(string value, int minutes)
    {
        var options = Bind(("Bff:Session:AbsoluteTimeout", value));

        Assert.Equal(TimeSpan.FromMinutes(minutes), options.Session.AbsoluteTimeout);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    [InlineData("InMemory,Redis")]
    [InlineData("Reds")]
    [InlineData("")]
    public void The_session_store_is_chosen_by_name_only(string value) =>
        Assert.Contains(Refusals(("Bff:Session:Store", value)), f => f.StartsWith($"Bff:Session:Store is '{value}': write one of InMemory, Redis", StringComparison.Ordinal));

    [Theory]
    [InlineData("redis", SessionStoreKind.Redis)]
    [InlineData("INMEMORY", SessionStoreKind.InMemory)]
    public void Enum_names_are_read_regardless_of_case(string value, SessionStoreKind store) =>
        Assert.Equal(store, Bind(("Bff:Session:Store", value), ("Bff:Redis:Configuration", "localhost:6379")).Session.Store);

    [Theory]
    [InlineData("3")]
    [InlineData("-1")]
    [InlineData("Lax, Strict")]
    [InlineData("Lax,Strict")]
    public void SameSite_is_chosen_by_name_only(string value) =>
        Assert.Contains(Refusals(("Bff:Cookie:SameSite", value)), f => f.StartsWith($"Bff:Cookie:SameSite is '{value}': write one of Strict, Lax", StringComparison.Ordinal));

    [Fact]
    public void SameSite_by_name_is_read() =>
        Assert.Equal(Microsoft.AspNetCore.Http.SameSiteMode.Lax, Bind(("Bff:Cookie:SameSite", "lax")).Cookie.SameSite);

    [Fact]
    public void A_value_where_a_section_is_expected_is_refused() =>
        Assert.Contains(Refusals(("Bff:Session", "8")), f => f.StartsWith("Bff:Session takes settings, not a value", StringComparison.Ordinal));

    [Fact]
    public void A_list_where_one_value_is_expected_is_refused() =>
        Assert.Contains(Refusals(("Bff:Cookie:SameSite:0", "Lax")), f => f.StartsWith("Bff:Cookie:SameSite takes one value, not a list or section", StringComparison.Ordinal));

    [Fact]
    public void A_list_entry_that_is_not_numbered_is_refused() =>
        Assert.Contains(Refusals(("Bff:ForwardedHeaders:KnownProxies:first", "10.0.0.7")), f => f.StartsWith("Bff:ForwardedHeaders:KnownProxies:first is not a setting: write list entries as Bff:ForwardedHeaders:KnownProxies:0", StringComparison.Ordinal));

    [Fact]
    public void A_wrong_value_is_never_echoed_when_it_is_long()
    {
        const string secretLooking = "s3cr3t-value-that-went-into-the-wrong-key";

        var refusal = Assert.Single(Refusals(("Bff:Session:IdleTimeout", secretLooking)));

        Assert.DoesNotContain(secretLooking, refusal, StringComparison.Ordinal);
        Assert.StartsWith("Bff:Session:IdleTimeout is not a time span", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_problems_are_reported_together_with_the_other_settings_still_checked()
    {
        var refusals = Refusals(("Bff:ClientSecrett", "x"), ("Bff:ClientSecret", null), ("Bff:Session:IdleTimeout", "abc"));

        Assert.Contains("Bff:ClientSecrett is not a setting; did you mean Bff:ClientSecret?", refusals);
        Assert.Contains(refusals, f => f.StartsWith("Bff:Session:IdleTimeout is 'abc'", StringComparison.Ordinal));
        Assert.Contains(refusals, f => f.StartsWith("Bff:ClientSecret is required", StringComparison.Ordinal));
    }

    /// <summary>
    /// The table: every setting the options classes define, written well, written as the wrong type, and misspelled.
    /// </summary>
    [Theory]
    [MemberData(nameof(SettingKeys))]
    public void Every_setting_accepts_a_good_value_and_refuses_a_wrong_type_and_a_misspelling(string key)
    {
        var setting = Settings().Single(s => s.Key == key);

        // A good value: nothing about this key is refused. A key with a usable default must pass the whole validation
        // written as its default; others (a connection string, a folder, a list of addresses) only the shape check.
        var good = Refusals([.. setting.Good]);
        Assert.DoesNotContain(good, f => IsShapeRefusal(f, key));
        if (setting.DefaultIsUsable)
        {
            Assert.DoesNotContain(good, f => f.Contains(key, StringComparison.OrdinalIgnoreCase));
        }

        var (wrongKey, wrongValue, advice) = setting.Wrong;
        var wrong = Refusals((wrongKey, wrongValue));
        Assert.True(
            wrong.Any(f => f.StartsWith(key, StringComparison.Ordinal) && f.Contains(advice, StringComparison.Ordinal)),
            $"{wrongKey}='{wrongValue}' was not refused with '{advice}':\n{string.Join('\n', wrong)}");

        var misspelled = Misspell(key);
        var misspelling = Refusals((misspelled, setting.Good[0].Value));
        Assert.Contains($"{misspelled} is not a setting; did you mean {key}?", misspelling);
    }

    [Fact]
    public void Every_setting_is_in_the_readme_configuration_table_and_every_key_there_exists()
    {
        var documented = ReadmeKeys();
        var settings = Settings().ToList();

        var undocumented = settings.Where(s => !documented.Any(d => Covers(d, s))).Select(s => s.Key).ToList();
        Assert.True(undocumented.Count == 0, "Not in the README's configuration table: " + string.Join(", ", undocumented));

        var unknown = documented.Where(d => !settings.Any(s => Covers(d, s))).ToList();
        Assert.True(unknown.Count == 0, "In the README's configuration table but not a setting: " + string.Join(", ", unknown));
    }

    private static bool IsShapeRefusal(string failure, string key) =>
        failure.StartsWith(key + " is '", StringComparison.OrdinalIgnoreCase)
        || failure.StartsWith(key + " is not a", StringComparison.OrdinalIgnoreCase)
        || failure.StartsWith(key + " takes ", StringComparison.OrdinalIgnoreCase)
        || failure.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a key written in the README (possibly with a list index, a placeholder such as <c>&lt;name&gt;</c> or an
    /// ellipsis after it) names this setting.
    /// </summary>
    private static bool Covers(string documented, Setting setting)
    {
        if (string.Equals(documented, setting.Key, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return setting.TakesChildren && documented.StartsWith(setting.Key + ":", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_policy_in_configuration_is_read_as_written_and_a_malformed_one_is_refused_naming_the_key()
    {
        Assert.Empty(Refusals(
            ("Bff:Authorization:Policies:ops:RequireClaims:groups:0", "ops"),
            ("Bff:Authorization:Policies:ops:RequireClaims:groups:1", "sre"),
            ("Bff:Authorization:Policies:writers:RequireScopes:0", "orders:write"),
            ("Bff:Authorization:Policies:staff:RequireRole", "staff,admin")));

        var misspelt = Refusals(("Bff:Authorization:Policies:ops:RequireClaim:groups:0", "ops"));
        Assert.True(misspelt.Any(f => f.StartsWith("Bff:Authorization:Policies:ops:RequireClaim", StringComparison.Ordinal)
                && f.Contains("did you mean Bff:Authorization:Policies:ops:RequireClaims", StringComparison.Ordinal)), string.Join('\n', misspelt));
        Assert.Contains(Refusals(("Bff:Authorization:Policies:ops:RequireClaims:groups", "")),
            f => f.StartsWith("Bff:Authorization:Policies:ops", StringComparison.Ordinal));
        Assert.Contains(Refusals(("Bff:Authorization:Policies:writers:RequireScopes:0", "orders write")),
            f => f.StartsWith("Bff:Authorization:Policies:writers:RequireScopes needs OAuth scopes", StringComparison.Ordinal));
        Assert.Contains(Refusals(("Bff:Authorization:Policies:Default:RequireRole:0", "staff")),
            f => f.StartsWith("Bff:Authorization:Policies:Default: 'Default' is a name YARP reserves", StringComparison.Ordinal));
        Assert.Contains(Refusals(("Bff:Authorization:Policies:ops:RequireRole:admin", "true")),
            f => f.StartsWith("Bff:Authorization:Policies:ops:RequireRole", StringComparison.Ordinal));
    }

    private static List<string> ReadmeKeys()
    {
        var readme = File.ReadAllLines(Path.Combine(DemoComposition.RepositoryRoot, "README.md"));
        var start = Array.FindIndex(readme, l => l.StartsWith("## Configuration reference", StringComparison.Ordinal));
        Assert.True(start >= 0, "The README has no '## Configuration reference' section.");
        var keys = new List<string>();
        foreach (var line in readme.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            if (!line.StartsWith('|'))
            {
                continue;
            }

            var firstCell = line.Split('|')[1];
            foreach (Match match in DocumentedKey().Matches(firstCell))
            {
                // "Bff:ForwardedHeaders:KnownProxies:0", "Bff:RateLimits:…": the key is what precedes the placeholder.
                keys.Add(match.Groups["key"].Value.TrimEnd(':', '…', '.', '*'));
            }
        }

        Assert.NotEmpty(keys);
        return keys;
    }

    [GeneratedRegex(@"`(?<key>Bff:[^`\s]+)`")]
    private static partial Regex DocumentedKey();

    /// <summary>Drops the last letter of the last segment: "Store" → "Stor", "KnownProxies" → "KnownProxie".</summary>
    private static string Misspell(string key) => key[..^1];

    private sealed record Setting(
        string Key,
        Type Type,
        (string Key, string? Value)[] Good,
        bool DefaultIsUsable,
        (string Key, string Value, string Advice) Wrong,
        bool TakesChildren);

    private static IEnumerable<Setting> Settings() =>
        SettingsSections.SelectMany(s => Settings(s.Prefix, s.Type, Activator.CreateInstance(s.Type)!));

    private static IEnumerable<Setting> Settings(string prefix, Type type, object defaults)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            // The binder also fills a get-only settings class or collection in place.
            var fillable = IsSettingsClass(property.PropertyType) || DictionaryValue(property.PropertyType) is not null
                || (property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() is var d && (d == typeof(IList<>) || d == typeof(ICollection<>) || d == typeof(List<>)));
            if ((property.SetMethod is not { IsPublic: true } && !fillable) || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var key = prefix + ":" + property.Name;
            var value = property.GetValue(defaults);
            if (DictionaryValue(property.PropertyType) is { } entryType && IsSettingsClass(entryType))
            {
                // Named entries of a settings class (Bff:Authorization:Policies:<name>:…): the README writes the name so.
                foreach (var nested in Settings(key + ":<name>", entryType, Activator.CreateInstance(entryType)!))
                {
                    yield return nested;
                }

                continue;
            }

            if (ListElement(property.PropertyType) is { } itemType && IsSettingsClass(itemType))
            {
                // Entries of a list of settings classes (Bff:ClientAuthentication:Keys:0:Path): the README writes the first.
                foreach (var nested in Settings(key + ":0", itemType, Activator.CreateInstance(itemType)!))
                {
                    yield return nested;
                }

                continue;
            }

            if (IsSettingsClass(property.PropertyType))
            {
                foreach (var nested in Settings(key, property.PropertyType, value ?? Activator.CreateInstance(property.PropertyType)!))
                {
                    yield return nested;
                }

                continue;
            }

            yield return Leaf(key, property.PropertyType, value);
        }
    }

    private static Setting Leaf(string key, Type type, object? defaults)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string))
        {
            var isScopes = key == "Bff:Scopes";
            return new(
                key,
                type,
                [(key, (string?)defaults ?? "example")],
                defaults is not null,
                isScopes ? (key + ":first", "openid", "write list entries as") : (key + ":x", "y", "takes one value"),
                isScopes);
        }

        if (underlying == typeof(bool))
        {
            return new(key, type, [(key, defaults is bool b ? (b ? "true" : "false") : "true")], true, (key, "yes", "write true or false"), false);
        }

        if (underlying == typeof(int) || underlying == typeof(long))
        {
            return new(key, type, [(key, Convert.ToString(defaults, CultureInfo.InvariantCulture) ?? "1")], true, (key, "many", "write a whole number"), false);
        }

        if (underlying == typeof(double))
        {
            return new(key, type, [(key, Convert.ToString(defaults, CultureInfo.InvariantCulture) ?? "1")], true, (key, "many", "write a number"), false);
        }

        if (underlying == typeof(TimeSpan))
        {
            return new(key, type, [(key, ((TimeSpan)(defaults ?? TimeSpan.FromMinutes(1))).ToString("c", CultureInfo.InvariantCulture))], true, (key, "8", "write a time span as hh:mm:ss"), false);
        }

        if (underlying.IsEnum)
        {
            var name = defaults is not null && Enum.IsDefined(underlying, defaults) ? defaults.ToString()! : Enum.GetNames(underlying)[0];
            return new(key, type, [(key, name)], defaults is not null, (key, "3", "write one of"), false);
        }

        if (underlying == typeof(Uri))
        {
            return new(key, type, [(key, defaults?.ToString() ?? "https://example.com/")], defaults is not null, (key + ":x", "y", "takes one value"), false);
        }

        if (ListElement(type) is { } element && element == typeof(string))
        {
            var entries = ((IEnumerable<string>?)defaults)?.ToList() ?? [];
            (string, string?)[] good = entries.Count > 0
                ? [.. entries.Select((e, i) => ($"{key}:{i}", (string?)e))]
                : [(key + ":0", "example")];
            return new(key, type, good, entries.Count > 0, (key + ":first", "example", "write list entries as"), true);
        }

        if (DictionaryValue(type) is { } value)
        {
            var inner = Leaf(key + ":example", value, null);
            return new(key, type, inner.Good, false, inner.Wrong, true);
        }

        throw new InvalidOperationException(
            $"{key} has type {type}: add it to this test's table (and to the configuration check) or use a supported type.");
    }

    private static bool IsSettingsClass(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type);

    private static Type? ListElement(Type type) =>
        type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(type) ? type.GetGenericArguments()[0]
        : null;

    private static Type? DictionaryValue(Type type) =>
        type.IsGenericType && type.GetGenericArguments() is [var k, var v] && k == typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) ? v : null;

    private static BffOptions Bind(params (string Key, string? Value)[] settings)
    {
        using var services = Compose(settings);
        return services.GetRequiredService<IOptions<BffOptions>>().Value;
    }

    private static BffOptions Bind(string json)
    {
        using var services = Compose([], json);
        return services.GetRequiredService<IOptions<BffOptions>>().Value;
    }

    private static List<string> Refusals(string json)
    {
        using var services = Compose([], json);
        try
        {
            _ = services.GetRequiredService<IOptions<BffOptions>>().Value;
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
    }

    /// <summary>
    /// The messages start-up would print for a working configuration (Production, https authority) with these settings
    /// changed, from the same registrations Program.cs makes for the Bff section.
    /// </summary>
    private static List<string> Refusals(params (string Key, string? Value)[] settings)
    {
        using var services = Compose(settings);
        var failures = new List<string>();
        try
        {
            _ = services.GetRequiredService<IOptions<BffOptions>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            failures.AddRange(ex.Failures);
        }

        try
        {
            _ = services.GetRequiredService<IOptions<SpaOptions>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            failures.AddRange(ex.Failures);
        }

        return failures;
    }

    private static ServiceProvider Compose((string Key, string? Value)[] settings, string? json = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Bff:Authority"] = "https://idp.example.com",
            ["Bff:ClientId"] = "bff",
            ["Bff:ClientSecret"] = "not-a-real-secret",
            ["Bff:PublicOrigin"] = "https://app.example.com",
        };
        foreach (var (key, value) in settings)
        {
            if (value is null)
            {
                values.Remove(key);
            }
            else
            {
                values[key] = value;
            }
        }

        var builder = new ConfigurationBuilder().AddInMemoryCollection(values);
        if (json is not null)
        {
            builder.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        }

        var configuration = builder.Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IHostEnvironment>(new Environment());
        services.AddLogging();
        services.AddBffOptions(configuration);
        services.AddBffSpa();
        return services.BuildServiceProvider();
    }

    private sealed class Environment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "Bff.Host";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
