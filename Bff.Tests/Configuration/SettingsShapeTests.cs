using Bff.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Tests.Configuration;

/// <summary>
/// The strict check reads any settings class the way it reads BffOptions, so a setting of any supported type added later
/// is checked and bound without touching it: here a class with one property of each kind.
/// </summary>
public sealed class SettingsShapeTests
{
    private const string Section = "Bff:Sample";

    [Fact]
    public void Every_supported_kind_of_setting_is_bound_as_written()
    {
        var sample = Bind(
            ("Name", "gateway"), ("Enabled", "TRUE"), ("Count", "-3"), ("Big", "5000000000"), ("Ratio", "0.25"),
            ("Window", "1.02:03:04"), ("Mode", "second"), ("Optional", ""), ("Items:0", "a"), ("Items:1", "b"), ("More", "c, d"),
            ("Nested:Limit", "7"), ("Limits:login:Limit", "5"), ("Labels:team", "blue"));

        Assert.Equal("gateway", sample.Name);
        Assert.True(sample.Enabled);
        Assert.Equal(-3, sample.Count);
        Assert.Equal(5_000_000_000, sample.Big);
        Assert.Equal(0.25, sample.Ratio);
        Assert.Equal(new TimeSpan(1, 2, 3, 4), sample.Window);
        Assert.Equal(SampleMode.Second, sample.Mode);
        Assert.Null(sample.Optional);
        Assert.Equal(["a", "b"], sample.Items);
        Assert.Equal(["c", "d"], sample.More);
        Assert.Equal(7, sample.Nested.Limit);
        Assert.Equal(5, sample.Limits["login"].Limit);
        Assert.Equal("blue", sample.Labels["team"]);
    }

    [Theory]
    [InlineData("Enabled", "1", "Bff:Sample:Enabled is '1': write true or false.")]
    [InlineData("Count", "3000000000", "Bff:Sample:Count is '3000000000': write a whole number (at most 2147483647), for example 1.")]
    [InlineData("Count", "2.5", "Bff:Sample:Count is '2.5': write a whole number (at most 2147483647), for example 1.")]
    [InlineData("Big", "lots", "Bff:Sample:Big is 'lots': write a whole number, for example 1.")]
    [InlineData("Ratio", "1,5", "Bff:Sample:Ratio is '1,5': write a number with '.' for decimals, for example 0.5.")]
    [InlineData("Window", "90", "Bff:Sample:Window is '90': write a time span as hh:mm:ss (d.hh:mm:ss for days), for example 00:05:00.")]
    [InlineData("Mode", "1", "Bff:Sample:Mode is '1': write one of First, Second.")]
    [InlineData("Mode", "Secnod", "Bff:Sample:Mode is 'Secnod': write one of First, Second (did you mean Second?).")]
    [InlineData("Optional", "maybe", "Bff:Sample:Optional is 'maybe': write true or false.")]
    [InlineData("Nested:Limt", "7", "Bff:Sample:Nested:Limt is not a setting; did you mean Bff:Sample:Nested:Limit?")]
    [InlineData("Limits:login:Limt", "7", "Bff:Sample:Limits:login:Limt is not a setting; did you mean Bff:Sample:Limits:login:Limit?")]
    [InlineData("Limits:login:Limit", "x", "Bff:Sample:Limits:login:Limit is 'x': write a whole number (at most 2147483647), for example 1.")]
    [InlineData("Limits", "5", "Bff:Sample:Limits takes named entries, not a value: write them as Bff:Sample:Limits:<name>.")]
    [InlineData("Nested", "5", "Bff:Sample:Nested takes settings, not a value: write them as Bff:Sample:Nested:<name> (see the README's configuration reference).")]
    [InlineData("Items:a", "x", "Bff:Sample:Items:a is not a setting: write list entries as Bff:Sample:Items:0, Bff:Sample:Items:1, … (an array in JSON), or as one comma-separated value.")]
    [InlineData("Computed", "x", "Bff:Sample:Computed is not a setting (the settings are listed in the README's configuration reference).")]
    [InlineData("Hidden", "x", "Bff:Sample:Hidden is not a setting (the settings are listed in the README's configuration reference).")]
    public void A_value_that_does_not_read_as_its_type_is_refused_and_not_bound(string key, string value, string message)
    {
        var problems = Problems((key, value));

        Assert.Equal(message, Assert.Single(problems));
        var sample = Bind((key, value));
        Assert.Equal(new Sample().Count, sample.Count);
    }

    private static List<string> Problems(params (string Key, string Value)[] values) =>
        [.. SettingsShape.Check(Configuration(values).GetSection(Section), Section, typeof(Sample)).Select(p => p.Message)];

    private static Sample Bind(params (string Key, string Value)[] values)
    {
        var sample = new Sample();
        SettingsBinding.Bind(Configuration(values).GetSection(Section), Section, sample);
        return sample;
    }

    private static IConfiguration Configuration((string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(Section + ":" + v.Key, (string?)v.Value))).Build();

    public enum SampleMode
    {
        First,
        Second,
    }

    public sealed class Sample
    {
        public string? Name { get; set; }

        public bool Enabled { get; set; }

        public int Count { get; set; } = 1;

        public long Big { get; set; }

        public double Ratio { get; set; }

        public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

        public SampleMode Mode { get; set; }

        public bool? Optional { get; set; } = true;

        public IList<string> Items { get; set; } = [];

        public IList<string> More { get; set; } = [];

        public SampleLimit Nested { get; set; } = new();

        public Dictionary<string, SampleLimit> Limits { get; set; } = [];

        public Dictionary<string, string> Labels { get; set; } = [];

        public int Computed => Count * 2;

        internal string? Hidden { get; set; }
    }

    public sealed class SampleLimit
    {
        public int Limit { get; set; }
    }
}
