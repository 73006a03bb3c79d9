using Bff.Hosting;
using System.Collections.Concurrent;
using System.Net;
using Bff.Tests.Observability;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.Authentication;

/// <summary>
/// The OpenID Connect handler runs on its own paths (the callback, the signed-out callback) and on the requests that
/// challenge it, and nowhere else: API calls, /bff/user and probes never build it. The standard
/// <c>UseAuthentication</c> built it on every request; so would one that WebApplication added by itself.
/// </summary>
public sealed class AuthenticationPipelineTests : IAsyncLifetime
{
    private readonly TestIdentityProvider _idp = new();
    private readonly ConcurrentQueue<string> _handlersBuilt = new();
    private UpstreamApi _api = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _api = await UpstreamApi.StartAsync();
        _gateway = new GatewayFactory(
            _idp,
            SecretJourney.ApiRoute(_api.Address),
            services => services.AddScoped<IAuthenticationHandlerProvider>(sp =>
                new CountingHandlerProvider(new AuthenticationHandlerProvider(sp.GetRequiredService<IAuthenticationSchemeProvider>()), _handlersBuilt)));
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _api.DisposeAsync();
        _idp.Dispose();
    }

    [Fact]
    public async Task Only_sign_in_requests_build_the_OpenID_Connect_handler()
    {
        using var browser = _gateway.CreateBrowser();
        var signedIn = await browser.SignInAsync(_idp);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Contains(OpenIdConnectDefaults.AuthenticationScheme, _handlersBuilt); // the login challenge and the callback
        _handlersBuilt.Clear();

        var api = await browser.GetWithCsrfAsync("/api/orders");
        var user = await browser.GetWithCsrfAsync("/bff/user");
        var live = await browser.GetAsync(BffHealth.LivePath);

        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.DoesNotContain(OpenIdConnectDefaults.AuthenticationScheme, _handlersBuilt);
    }

    private sealed class CountingHandlerProvider(IAuthenticationHandlerProvider inner, ConcurrentQueue<string> built) : IAuthenticationHandlerProvider
    {
        public Task<IAuthenticationHandler?> GetHandlerAsync(HttpContext context, string authenticationScheme)
        {
            built.Enqueue(authenticationScheme);
            return inner.GetHandlerAsync(context, authenticationScheme);
        }
    }
}
