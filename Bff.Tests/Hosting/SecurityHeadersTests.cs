using Bff.Configuration;
using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Hosting;

public sealed class SecurityHeadersTests : IDisposable
{
    private static readonly Uri PublicOrigin = new("https://bff.example.com");

    private static readonly Dictionary<string, string?> PublicOriginSetting = new() { ["Bff:PublicOrigin"] = PublicOrigin.ToString() };

    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Fact]
    public async Task Gateway_endpoints_are_not_cached_and_not_sniffed()
    {
        using var gateway = new GatewayFactory(_idp, settings: PublicOriginSetting);
        using var browser = gateway.CreateBrowser(PublicOrigin);

        var user = await browser.GetAsync("/bff/user");

        Assert.Equal("no-store", user.Headers.CacheControl?.ToString());
        Assert.Equal("nosniff", Assert.Single(user.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task The_callback_tells_the_browser_not_to_send_its_url_as_referrer()
    {
        using var gateway = new GatewayFactory(_idp, settings: PublicOriginSetting);
        using var browser = gateway.CreateBrowser(PublicOrigin);

        var callback = await browser.SignInAsync(_idp);

        Assert.Equal("no-referrer", Assert.Single(callback.Headers.GetValues("Referrer-Policy")));
        Assert.Equal("no-store", callback.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Https_responses_carry_hsts_outside_development()
    {
        using var gateway = new GatewayFactory(_idp, settings: PublicOriginSetting);
        using var browser = gateway.CreateBrowser(PublicOrigin);

        var live = await browser.GetAsync("/health/live");

        Assert.Equal("max-age=31536000", Assert.Single(live.Headers.GetValues("Strict-Transport-Security")));
    }

    [Fact]
    public async Task Development_sends_no_hsts()
    {
        using var gateway = new GatewayFactory(_idp, settings: PublicOriginSetting, environment: "Development");
        using var browser = gateway.CreateBrowser(PublicOrigin);

        var live = await browser.GetAsync("/health/live");

        Assert.False(live.Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_generic_problem_without_details()
    {
        using var gateway = new GatewayFactory(_idp, settings: PublicOriginSetting, services: services => services.AddSingleton<IStartupFilter>(new ThrowingEndpoint()));
        using var browser = gateway.CreateBrowser(PublicOrigin);

        var response = await browser.GetAsync(ThrowingEndpoint.Path);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("Content-Type: application/problem+json", browser.Responses[^1].Headers, StringComparison.Ordinal);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal("internal_error", json.RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain(ThrowingEndpoint.Detail, body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    /// <summary>A route that throws, added after the gateway's pipeline, so the exception travels through all of it.</summary>
    private sealed class ThrowingEndpoint : IStartupFilter
    {
        public const string Path = "/test/throws";
        public const string Detail = "connection string Password=hunter2 in an exception message";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            next(app);
            app.Map(Path, branch => branch.Run(_ => throw new InvalidOperationException(Detail)));
        };
    }
}
