using Bff.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.FileProviders;

namespace Bff.Tests.Configuration;

/// <summary>Each configuration mistake is refused with a message that names the key to fix.</summary>
public sealed class BffOptionsValidatorTests
{
    [Fact]
    public void A_complete_configuration_is_accepted() =>
        Assert.Empty(Failures(Valid()));

    [Theory]
    [InlineData(nameof(BffOptions.Authority), "Bff:Authority is required")]
    [InlineData(nameof(BffOptions.ClientId), "Bff:ClientId is required")]
    [InlineData(nameof(BffOptions.ClientSecret), "Bff:ClientSecret is required")]
    public void Missing_provider_settings_are_refused(string setting, string message)
    {
        var options = Valid();
        typeof(BffOptions).GetProperty(setting)!.SetValue(options, " ");

        Assert.Contains(Failures(options), f => f.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void An_http_authority_is_refused_outside_development()
    {
        var options = Valid();
        options.Authority = "http://idp.example.com";

        Assert.Contains(Failures(options, "Production"), f => f.Contains("Bff:Authority uses http", StringComparison.Ordinal) && f.Contains("Bff:RequireHttpsMetadata=false", StringComparison.Ordinal));
        Assert.Empty(Failures(options, "Development"));
        options.RequireHttpsMetadata = false;
        Assert.Empty(Failures(options, "Production"));
    }

    [Theory]
    [InlineData("00:00:00", "00:30:00", "Bff:Session:WarnBefore must be at least 00:00:01")]
    [InlineData("00:30:00", "00:30:00", "Bff:Session:WarnBefore (00:30:00) must be at most 90% of Bff:Session:IdleTimeout (00:30:00)")]
    [InlineData("00:27:01", "00:30:00", "Bff:Session:WarnBefore (00:27:01) must be at most 90% of Bff:Session:IdleTimeout")]
    public void A_session_warning_that_stay_signed_in_could_not_answer_is_refused(string warnBefore, string idle, string message)
    {
        var options = Valid();
        options.Session.WarnBefore = TimeSpan.Parse(warnBefore, System.Globalization.CultureInfo.InvariantCulture);
        options.Session.IdleTimeout = TimeSpan.Parse(idle, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Contains(Failures(options), f => f.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void SameSite_None_is_refused()
    {
        var options = Valid();
        options.Cookie.SameSite = SameSiteMode.None;

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:Cookie:SameSite must be Strict or Lax", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bff")]
    [InlineData("__Secure-bff")]
    [InlineData("__Host-")]
    [InlineData("__Host-b;ff")]
    public void A_cookie_name_that_cannot_keep_the_host_prefix_rules_is_refused(string name)
    {
        var options = Valid();
        options.Cookie.Name = name;

        Assert.Contains(Failures(options), f => f.StartsWith($"Bff:Cookie:Name '{name}' is not usable", StringComparison.Ordinal));
    }

    [Fact]
    public void The_redis_store_needs_a_redis_connection()
    {
        var options = Valid();
        options.Session.Store = SessionStoreKind.Redis;

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:Session:Store is Redis, but Bff:Redis:Configuration is empty", StringComparison.Ordinal));
        options.Redis.Configuration = "localhost:6379";
        Assert.Empty(Failures(options));
    }

    [Theory]
    [InlineData("10.0.0.7")]
    [InlineData("fd00::7")]
    [InlineData("10.0.0.7, 10.0.0.8")]
    public void Proxy_addresses_are_accepted(string proxies)
    {
        var options = Valid();
        options.ForwardedHeaders.KnownProxies.Add(proxies);

        Assert.Empty(Failures(options));
    }

    [Theory]
    [InlineData("proxy.internal")]
    [InlineData("10.1")]
    [InlineData("10.0.0.0/8")]
    [InlineData("300.0.0.1")]
    public void A_proxy_that_is_not_an_ip_address_is_refused(string proxy)
    {
        var options = Valid();
        options.ForwardedHeaders.KnownProxies.Add(proxy);

        Assert.Contains(Failures(options), f => f.StartsWith($"Bff:ForwardedHeaders:KnownProxies contains '{proxy}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("172.16.0.0/12;192.168.0.0/16")]
    [InlineData("fd00::/8")]
    public void Networks_in_cidr_notation_are_accepted(string networks)
    {
        var options = Valid();
        options.ForwardedHeaders.KnownNetworks.Add(networks);

        Assert.Empty(Failures(options));
    }

    [Theory]
    [InlineData("10.0.0.0")]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10/8")]
    [InlineData("corp-network")]
    public void A_network_that_is_not_exact_cidr_is_refused(string network)
    {
        var options = Valid();
        options.ForwardedHeaders.KnownNetworks.Add(network);

        Assert.Contains(Failures(options), f => f.StartsWith($"Bff:ForwardedHeaders:KnownNetworks contains '{network}'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0.0.0.0/0")]
    [InlineData("::/0")]
    [InlineData("::ffff:0.0.0.0/96")]
    [InlineData("::/80")]
    [InlineData("10.0.0.0/8, 0.0.0.0/0")]
    public void A_trusted_network_holding_every_address_is_refused(string networks)
    {
        var options = Valid();
        options.ForwardedHeaders.KnownNetworks.Add(networks);

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:ForwardedHeaders:KnownNetworks contains '", StringComparison.Ordinal)
            && f.Contains("which trusts every address", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.0.0.0/7", true)]
    [InlineData("fd00::/15", true)]
    [InlineData("::ffff:10.0.0.0/103", true)]
    [InlineData("10.0.0.0/8", false)]
    [InlineData("fd00::/16", false)]
    [InlineData("::ffff:10.0.0.0/104", false)]
    public void Very_broad_networks_are_recognised(string network, bool broad)
    {
        Assert.True(ForwardedHeadersSettings.TryParseNetwork(network, out var parsed));
        Assert.Equal(broad, ForwardedHeadersSettings.IsVeryBroad(parsed));
        Assert.False(ForwardedHeadersSettings.CoversEveryAddress(parsed));
    }

    [Theory]
    [InlineData("https://app.example.com")]
    [InlineData("https://app.example.com/")]
    [InlineData("https://app.example.com:8443")]
    [InlineData("http://localhost:5080")]
    public void A_public_origin_is_accepted(string origin)
    {
        var options = Valid();
        options.PublicOrigin = origin;

        Assert.Empty(Failures(options));
    }

    [Theory]
    [InlineData("app.example.com")]
    [InlineData("https://app.example.com/app")]
    [InlineData("https://app.example.com/?x=1")]
    [InlineData("https://app.example.com/#top")]
    [InlineData("https://user@app.example.com")]
    [InlineData("ftp://app.example.com")]
    [InlineData("/relative")]
    public void A_public_origin_that_is_not_an_origin_is_refused(string origin)
    {
        var options = Valid();
        options.PublicOrigin = origin;

        Assert.Contains(Failures(options, "Development"), f => f.StartsWith($"Bff:PublicOrigin '{origin}' is not usable", StringComparison.Ordinal));
    }

    [Fact]
    public void The_public_origin_is_required_outside_development_only()
    {
        var options = Valid();
        options.PublicOrigin = null;

        Assert.Contains(Failures(options, "Production"), f => f.StartsWith("Bff:PublicOrigin is required outside Development", StringComparison.Ordinal));
        Assert.Contains(Failures(options, "Staging"), f => f.StartsWith("Bff:PublicOrigin is required outside Development", StringComparison.Ordinal));
        Assert.Empty(Failures(options, "Development"));
    }

    [Fact]
    public void A_configured_policy_without_a_requirement_is_refused_naming_it()
    {
        var options = Valid();
        options.Authorization.Policies["ops"] = new AuthorizationPolicySettings();

        Assert.Contains("Bff:Authorization:Policies:ops has no requirement: give it RequireClaims:<type>, RequireScopes or RequireRole.", Failures(options));
    }

    [Fact]
    public void A_claim_map_entry_without_a_usable_path_is_refused_naming_it()
    {
        var options = Valid();
        options.Claims.Map["role"] = ["realm_access."];

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:Claims:Map:role needs one or more paths", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("acr")]
    [InlineData("auth_time")]
    public void A_claim_map_entry_for_the_step_up_claims_is_refused_naming_it(string type)
    {
        var options = Valid();
        options.Claims.Map[type] = ["amr"];

        Assert.Contains(Failures(options), f => f.StartsWith($"Bff:Claims:Map:{type} cannot be mapped", StringComparison.Ordinal));
    }

    [Fact]
    public void RefreshUserInfo_without_FromUserInfo_is_refused_naming_both()
    {
        var options = Valid();
        options.Claims.RefreshUserInfo = true;

        Assert.Contains(Failures(options), f => f.StartsWith("Bff:Claims:RefreshUserInfo", StringComparison.Ordinal) && f.Contains("Bff:Claims:FromUserInfo", StringComparison.Ordinal));
    }

    private static BffOptions Valid() => new()
    {
        Authority = "https://idp.example.com",
        ClientId = "bff",
        ClientSecret = "secret",
        PublicOrigin = "https://app.example.com",
    };

    private static IEnumerable<string> Failures(BffOptions options, string environment = "Production") =>
        new BffOptionsValidator(new Environment(environment)).Validate(null, options).Failures ?? [];

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "Bff.Host";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
