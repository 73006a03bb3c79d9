using System.Net;
using Bff.Tests.Infrastructure;
using Bff.Tests.LocalApis;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Authorization;

/// <summary>
/// Policies declared in configuration (<c>Bff:Authorization:Policies</c>), one per requirement type, each admitting and
/// refusing on proxied routes; the scopes are those the provider granted to the session's access token.
/// </summary>
public sealed class ConfiguredPolicyTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(
            settings: Policies,
            routes: routes =>
            {
                Route(routes, "ops", "/ops-api/{**rest}");
                Route(routes, "writers", "/writers-api/{**rest}");
                Route(routes, "staff", "/staff-api/{**rest}");
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    internal static Dictionary<string, string?> Policies => new()
    {
        ["Bff:Authorization:Policies:ops:RequireClaims:groups:0"] = "ops",
        ["Bff:Authorization:Policies:ops:RequireClaims:groups:1"] = "sre",
        ["Bff:Authorization:Policies:writers:RequireScopes:0"] = "orders:write",
        ["Bff:Authorization:Policies:staff:RequireRole"] = "staff,admin",
    };

    private static void Route(Dictionary<string, string?> routes, string policy, string path)
    {
        routes[$"ReverseProxy:Routes:{policy}:ClusterId"] = "api";
        routes[$"ReverseProxy:Routes:{policy}:Match:Path"] = path;
        routes[$"ReverseProxy:Routes:{policy}:AuthorizationPolicy"] = policy;
    }

    [Theory]
    [InlineData("/ops-api/x", "groups", "ops", HttpStatusCode.OK)]
    [InlineData("/ops-api/x", "groups", "sre", HttpStatusCode.OK)]
    [InlineData("/ops-api/x", "groups", "sales", HttpStatusCode.Forbidden)]
    [InlineData("/ops-api/x", "group", "ops", HttpStatusCode.Forbidden)]
    [InlineData("/staff-api/x", "role", "admin", HttpStatusCode.OK)]
    [InlineData("/staff-api/x", "role", "guest", HttpStatusCode.Forbidden)]
    [InlineData("/staff-api/x", "groups", "staff", HttpStatusCode.Forbidden)]
    public async Task A_claim_or_role_policy_admits_only_the_users_it_names(string path, string claimType, string claimValue, HttpStatusCode expected)
    {
        var (browser, _) = await _host.SignedInBrowserAsync(claims: [new(claimType, claimValue)]);

        var response = await browser.GetWithCsrfAsync(path);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK ? 1 : 0, _host.Api.Received.Count);
        if (expected == HttpStatusCode.Forbidden)
        {
            await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
        }
    }

    [Theory]
    [InlineData("openid orders:read orders:write", HttpStatusCode.OK)]
    [InlineData("openid orders:read", HttpStatusCode.Forbidden)]
    [InlineData(null, HttpStatusCode.Forbidden)] // none named: as requested (Bff:Scopes), which lacks orders:write
    public async Task A_scope_policy_checks_the_scopes_granted_to_the_sessions_token(string? granted, HttpStatusCode expected)
    {
        var (browser, session) = await _host.SignedInBrowserAsync();
        await _host.Store.ReplaceAsync(session with { Tokens = session.Tokens with { Scope = granted, Version = session.Tokens.Version + 1 } }, CancellationToken.None);

        var response = await browser.GetWithCsrfAsync("/writers-api/orders");

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task The_scopes_granted_at_sign_in_are_kept_and_a_refresh_that_names_none_keeps_them()
    {
        _host.Idp.GrantedScope = "openid profile offline_access orders:write";
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(10);
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        _host.Idp.GrantedScope = null;

        var before = await browser.GetWithCsrfAsync("/writers-api/orders");
        _host.Time.Advance(TimeSpan.FromMinutes(9.5));
        var afterRefresh = await browser.GetWithCsrfAsync("/writers-api/orders");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(HttpStatusCode.OK, afterRefresh.StatusCode);
    }

    [Fact]
    public async Task A_refresh_that_grants_fewer_scopes_takes_the_route_away()
    {
        _host.Idp.GrantedScope = "openid orders:write";
        _host.Idp.AccessTokenLifetime = TimeSpan.FromMinutes(10);
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        _host.Idp.GrantedScope = "openid";

        _host.Time.Advance(TimeSpan.FromMinutes(9.5));
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders")); // refreshes
        var response = await browser.GetWithCsrfAsync("/writers-api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
    }
}

/// <summary>A policy from configuration on an endpoint of the host's own, next to one added in code.</summary>
public sealed class ConfiguredPolicyLocalEndpointTests : IAsyncLifetime
{
    private LocalApiTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await LocalApiTestHost.StartAsync(
            services => services.AddAuthorizationBuilder().AddPolicy("tenant-a", policy => policy.RequireClaim("tid", "a")),
            app =>
            {
                app.MapGet("/local/ops", static () => Results.Ok()).RequireBffSession().RequireAuthorization("ops");
                app.MapGet("/local/ops-tenant-a", static () => Results.Ok()).RequireBffSession().RequireAuthorization("ops", "tenant-a");
            },
            ConfiguredPolicyTests.Policies);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Configured_and_code_policies_both_apply()
    {
        var (opsOfA, _) = await _host.SignedInBrowserAsync(claims: [new("groups", "ops"), new("tid", "a")]);
        var (opsOfB, _) = await _host.SignedInBrowserAsync("bob", claims: [new("groups", "ops"), new("tid", "b")]);

        Assert.Equal(HttpStatusCode.OK, (await opsOfA.GetWithCsrfAsync("/local/ops")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await opsOfA.GetWithCsrfAsync("/local/ops-tenant-a")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await opsOfB.GetWithCsrfAsync("/local/ops")).StatusCode);
        await ForwardingTests.AssertProblemAsync(await opsOfB.GetWithCsrfAsync("/local/ops-tenant-a"), HttpStatusCode.Forbidden, "forbidden");
    }
}
