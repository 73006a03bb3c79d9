using System.Net;
using System.Text.Json;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.DPoP;

/// <summary>Proxied calls with DPoP-bound tokens (RFC 9449 §7, §9): a proof per upstream request, the API's nonce, per-route control.</summary>
public sealed class DPoPProxyTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ProxyTestHost.StartAsync(
            settings: new Dictionary<string, string?> { ["Bff:DPoP:Enabled"] = "true" },
            routes: routes =>
            {
                ProxyTestHost.AddCookieRoute(routes);
                routes["ReverseProxy:Routes:bearer:ClusterId"] = "api";
                routes["ReverseProxy:Routes:bearer:Match:Path"] = "/bearer-api/{**rest}";
                routes["ReverseProxy:Routes:bearer:Metadata:Bff.DPoP"] = "Bearer";
                routes["ReverseProxy:Routes:strict:ClusterId"] = "api";
                routes["ReverseProxy:Routes:strict:Match:Path"] = "/strict-api/{**rest}";
                routes["ReverseProxy:Routes:strict:Metadata:Bff.DPoP"] = "Require";
            });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<(BrowserClient Browser, string AccessToken)> SignInAsync()
    {
        var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        return (browser, _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!.Tokens.AccessToken);
    }

    [Fact]
    public async Task A_call_with_a_bound_token_carries_a_proof_of_exactly_the_request_the_API_receives()
    {
        var (browser, accessToken) = await SignInAsync();
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/cookie-api/orders/7?page=2");
        request.Headers.Add("DPoP", "a-proof-the-browser-made-up");

        var echo = await ProxyTestHost.EchoAsync(await browser.SendAsync(request, new Dictionary<string, string> { ["X-CSRF"] = "1" }));

        Assert.Equal("DPoP " + accessToken, echo.Header("Authorization"));
        var proof = DPoPProofReader.Read(echo.Header("DPoP"));
        Assert.NotNull(proof);
        Assert.Equal("DELETE", proof.Htm);
        Assert.Equal(new Uri(_host.Api.Address, "/api/orders/7").ToString(), proof.Htu); // after the route's path transform
        Assert.Equal(DPoPProofReader.AccessTokenHash(accessToken), proof.Ath);
        Assert.Equal(_host.Idp.BoundKeyOf(accessToken), proof.Thumbprint);
        Assert.Null(proof.Nonce);
    }

    [Fact]
    public async Task Every_call_gets_a_proof_of_its_own()
    {
        var (browser, _) = await SignInAsync();

        var first = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/a"));
        var second = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/a"));

        Assert.NotEqual(DPoPProofReader.Read(first.Header("DPoP"))!.Jti, DPoPProofReader.Read(second.Header("DPoP"))!.Jti);
    }

    [Fact]
    public async Task An_API_asking_for_a_nonce_gets_a_bodiless_call_once_more_with_it()
    {
        var (browser, _) = await SignInAsync();
        _host.Api.DPoPNonce = "api-nonce-1";

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("api-nonce-1", DPoPProofReader.Read(echo.Header("DPoP"))!.Nonce);
        var proofs = _host.Api.Received.Where(r => r.Path == "/api/orders").Select(r => DPoPProofReader.Read(r.Header("DPoP"))!).ToList();
        Assert.Equal(2, proofs.Count);
        Assert.Null(proofs[0].Nonce);
        Assert.NotEqual(proofs[0].Jti, proofs[1].Jti);
    }

    [Fact]
    public async Task A_small_body_is_sent_once_more_with_the_nonce_byte_for_byte()
    {
        var (browser, _) = await SignInAsync();
        _host.Api.DPoPNonce = "api-nonce-3";
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = new StringContent("{\"qty\":1}", System.Text.Encoding.UTF8, "application/json") };

        var echo = await ProxyTestHost.EchoAsync(await browser.SendAsync(post, new Dictionary<string, string> { ["X-CSRF"] = "1" }));

        Assert.Equal(9, echo.BodyLength);
        Assert.Equal("application/json; charset=utf-8", echo.Header("Content-Type"));
        Assert.Equal("api-nonce-3", DPoPProofReader.Read(echo.Header("DPoP"))!.Nonce);
        Assert.Equal(2, _host.Api.Received.Count(r => r.Path == "/api/orders"));
    }

    [Fact]
    public async Task A_large_body_is_not_sent_twice_its_401_passes_and_the_next_call_carries_the_nonce()
    {
        var (browser, _) = await SignInAsync();
        _host.Api.DPoPNonce = "api-nonce-2";
        var headers = new Dictionary<string, string> { ["X-CSRF"] = "1" };
        var large = new string('x', 64 * 1024);

        using var first = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = new StringContent(large, System.Text.Encoding.UTF8, "text/plain") };
        var refused = await browser.SendAsync(first, headers);
        using var again = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = new StringContent(large, System.Text.Encoding.UTF8, "text/plain") };
        var accepted = await browser.SendAsync(again, headers);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("use_dpop_nonce", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(2, _host.Api.Received.Count(r => r.Path == "/api/orders"));
    }

    [Fact]
    public async Task A_route_that_wants_bearer_tokens_gets_one_requested_without_a_proof()
    {
        var (browser, _) = await SignInAsync();

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/bearer-api/reports"));

        Assert.StartsWith("Bearer ", echo.Header("Authorization"), StringComparison.Ordinal);
        Assert.Null(echo.Header("DPoP"));
        Assert.Null(_host.Idp.DPoPProofs.Last(p => p.Grant == "refresh_token").Proof);
    }

    [Fact]
    public async Task A_route_that_requires_DPoP_never_sends_a_bearer_token()
    {
        var (bearerBrowser, _) = await _host.SignedInBrowserAsync(); // a session from before DPoP: a bearer token
        var (boundBrowser, _) = await SignInAsync();

        var refused = await bearerBrowser.GetWithCsrfAsync("/strict-api/x");
        var allowed = await ProxyTestHost.EchoAsync(await boundBrowser.GetWithCsrfAsync("/strict-api/x"));

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal("dpop_unavailable", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain(_host.Api.Received, r => r.Path == "/strict-api/x" && r.Header("Authorization")?.StartsWith("Bearer", StringComparison.Ordinal) == true);
        Assert.NotNull(allowed.Header("DPoP"));
    }

    [Fact]
    public async Task A_session_bound_to_a_key_this_gateway_no_longer_has_is_refused_not_sent_as_bearer()
    {
        var (browser, session) = await _host.SignedInBrowserAsync();
        await _host.Store.ReplaceAsync(session with { Tokens = session.Tokens with { DPoPKeyThumbprint = "an-unknown-thumbprint" } }, CancellationToken.None);

        var response = await browser.GetWithCsrfAsync("/api/x");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.DoesNotContain(_host.Api.Received, r => r.Path == "/api/x");
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 8022);
    }
}
