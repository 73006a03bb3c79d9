using Bff.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Bff.Tests.Configuration;

/// <summary>The sign-in rate limit and the end-session hint are refused at start-up when they cannot work.</summary>
public sealed class SignInSettingsValidationTests
{
    [Fact]
    public void The_defaults_are_accepted()
    {
        var options = Valid();

        Assert.Empty(Failures(options));
        Assert.True(options.RateLimits.SignIn.Enabled);
        Assert.Equal(20, options.RateLimits.SignIn.PermitLimit);
        Assert.Equal(TimeSpan.FromMinutes(1), options.RateLimits.SignIn.Window);
        Assert.Equal(EndSessionHint.IdToken, options.Logout.EndSessionHint);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_permit_limit_below_one_is_refused(int limit)
    {
        var options = Valid();
        options.RateLimits.SignIn.PermitLimit = limit;

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:RateLimits:SignIn:PermitLimit must be at least 1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:00.500")]
    [InlineData("00:00:01.500")]
    [InlineData("01:00:01")]
    [InlineData("-00:01:00")]
    public void A_window_that_is_not_whole_seconds_up_to_an_hour_is_refused(string window)
    {
        var options = Valid();
        options.RateLimits.SignIn.Window = TimeSpan.Parse(window, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:RateLimits:SignIn:Window must be", StringComparison.Ordinal));
    }

    [Fact]
    public void A_disabled_limit_is_not_checked()
    {
        var options = Valid();
        options.RateLimits.SignIn.Enabled = false;
        options.RateLimits.SignIn.PermitLimit = 0;

        Assert.Empty(Failures(options));
    }

    [Fact]
    public void An_undefined_end_session_hint_is_refused()
    {
        var options = Valid();
        options.Logout.EndSessionHint = (EndSessionHint)7;

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:Logout:EndSessionHint must be IdToken or ClientId", StringComparison.Ordinal));
    }

    private static BffOptions Valid() => new()
    {
        Authority = "https://idp.example.com",
        ClientId = "bff",
        ClientSecret = "secret",
        PublicOrigin = "https://app.example.com",
    };

    private static IEnumerable<string> Failures(BffOptions options) =>
        new BffOptionsValidator(new Production()).Validate(null, options).Failures ?? [];

    private sealed class Production : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "Bff.Host";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
