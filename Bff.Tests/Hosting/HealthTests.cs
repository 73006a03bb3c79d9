using System.Net;
using System.Text.Json;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace Bff.Tests.Hosting;

public sealed class HealthTests : IDisposable
{
    private readonly TestIdentityProvider _idp = new();

    public void Dispose() => _idp.Dispose();

    [Fact]
    public async Task Ready_when_the_provider_metadata_loads()
    {
        using var gateway = new GatewayFactory(_idp);
        using var browser = gateway.CreateBrowser();

        var ready = await browser.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("provider").GetString());
        Assert.Contains("no-store", browser.Responses[^1].Headers, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_ready_but_alive_while_the_provider_cannot_be_reached()
    {
        using var gateway = new GatewayFactory(_idp, new Dictionary<string, string?> { ["Bff:Authority"] = UnreachableAuthority() });
        using var browser = gateway.CreateBrowser();

        var ready = await browser.GetAsync("/health/ready");
        var live = await browser.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("checks").GetProperty("provider").GetString());
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Readiness_returns_as_soon_as_the_provider_answers_again()
    {
        var outage = Guid.NewGuid();
        _idp.Server.Given(Request.Create().WithPath("/.well-known/openid-configuration").UsingGet())
            .WithGuid(outage).AtPriority(0).RespondWith(Response.Create().WithStatusCode(503));
        using var gateway = new GatewayFactory(_idp);
        using var browser = gateway.CreateBrowser();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await browser.GetAsync("/health/ready")).StatusCode);

        _idp.Server.DeleteMapping(outage);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Every_check_tagged_ready_decides_readiness_and_no_check_decides_liveness()
    {
        using var gateway = new GatewayFactory(_idp, services: services => services.AddHealthChecks()
            .AddCheck("redis", () => HealthCheckResult.Unhealthy("down"), tags: ["ready"])
            .AddCheck("untagged", () => HealthCheckResult.Unhealthy("down")));
        using var browser = gateway.CreateBrowser();

        var ready = await browser.GetAsync("/health/ready");
        var live = await browser.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("redis").GetString());
        Assert.Equal("Healthy", checks.GetProperty("provider").GetString());
        Assert.False(checks.TryGetProperty("untagged", out _));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("{\"status\":\"Healthy\",\"checks\":{}}", await live.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Probes_need_neither_a_session_nor_the_csrf_header()
    {
        using var gateway = new GatewayFactory(_idp);
        using var browser = gateway.CreateBrowser();
        browser.PutCookie("__Host-bff", new string('x', 43));

        var live = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health/live"));
        var ready = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health/ready"));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    /// <summary>A loopback port nobody listens on: a provider that stopped.</summary>
    private static string UnreachableAuthority()
    {
        using var stopped = new TestIdentityProvider();
        return stopped.Authority;
    }
}
