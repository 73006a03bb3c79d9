using System.Net;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;

namespace Bff.Tests.DPoP;

/// <summary>Token requests with DPoP (RFC 9449 §5, §8): proofs, bound tokens, and the provider's nonce.</summary>
public sealed class DPoPTokenRequestTests : IAsyncLifetime
{
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Bff:DPoP:Enabled"] = "true" });
        _host.Idp.AccessTokenLifetime = FiveMinutes;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private DPoPKeys Keys => _host.Gateway.Services.GetRequiredService<DPoPKeys>();

    [Fact]
    public async Task A_sign_in_binds_the_sessions_tokens_to_the_gateways_key()
    {
        using var browser = _host.CreateBrowser();
        var authorize = await browser.StartSignInAsync(_host.Idp);
        var code = _host.Idp.IssueCode(authorize.Nonce);
        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(code, authorize.State));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        var key = Keys.CurrentOrNull!;
        Assert.Equal(key.Thumbprint, authorize.Parameters["dpop_jkt"]);
        Assert.Equal(key.Thumbprint, session.Tokens.DPoPKeyThumbprint);
        Assert.Equal(key.Thumbprint, _host.Idp.BoundKeyOf(session.Tokens.AccessToken));
        Assert.StartsWith("DPoP ", session.Tokens.AuthorizationHeader, StringComparison.Ordinal);
        var (grant, proof) = Assert.Single(_host.Idp.DPoPProofs);
        Assert.Equal("authorization_code", grant);
        Assert.Null(DPoPProofReader.Read(proof)!.Ath);
    }

    [Fact]
    public async Task A_provider_that_wants_a_nonce_at_sign_in_gets_the_code_once_more_with_it()
    {
        _host.Idp.DPoPNonce = "nonce-at-sign-in";
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal(1, _host.Idp.TokenRequests);
        var proofs = _host.Idp.DPoPProofs.Select(p => DPoPProofReader.Read(p.Proof)!).ToList();
        Assert.Equal(2, proofs.Count);
        Assert.Null(proofs[0].Nonce);
        Assert.Equal("nonce-at-sign-in", proofs[1].Nonce);
        Assert.NotEqual(proofs[0].Jti, proofs[1].Jti);
        Assert.NotNull(_host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!.Tokens.DPoPKeyThumbprint);
    }

    [Fact]
    public async Task A_refresh_asked_for_a_new_nonce_is_sent_once_more_and_spends_the_refresh_token_once()
    {
        using var browser = _host.CreateBrowser();
        _host.Idp.DPoPNonce = "first";
        await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        var signedIn = _host.StoredSession(key)!;
        _host.Idp.DPoPNonce = "second";
        _host.Time.Advance(FiveMinutes - TimeSpan.FromSeconds(20));

        var response = await browser.GetWithCsrfAsync("/api/orders");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, _host.Idp.RefreshRequests);
        var refreshes = _host.TokenRequests("refresh_token");
        Assert.Equal(2, refreshes.Count);
        Assert.All(refreshes, form => Assert.Equal(signedIn.Tokens.RefreshToken, form["refresh_token"]));
        var proofs = _host.Idp.DPoPProofs.Where(p => p.Grant == "refresh_token").Select(p => DPoPProofReader.Read(p.Proof)!).ToList();
        Assert.Equal(["first", "second"], proofs.Select(p => p.Nonce));
        var refreshed = _host.StoredSession(key)!;
        Assert.Equal(Keys.CurrentOrNull!.Thumbprint, refreshed.Tokens.DPoPKeyThumbprint);
        Assert.Equal(refreshed.Tokens.DPoPKeyThumbprint, _host.Idp.BoundKeyOf(refreshed.Tokens.AccessToken));
    }

    [Fact]
    public async Task A_burst_of_calls_during_a_nonce_change_spends_the_refresh_token_once()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        _host.Idp.DPoPNonce = "burst";
        _host.Time.Advance(FiveMinutes - TimeSpan.FromSeconds(20));
        using var client = _host.CreateApiClient(key);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync("/api/orders")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(2, _host.TokenRequests("refresh_token").Count);
    }

    [Fact]
    public async Task Client_credentials_tokens_are_bound_and_the_nonce_is_remembered_for_the_next_request()
    {
        _host.Idp.DPoPNonce = "cc-nonce";

        var first = await ProxyTestHost.EchoAsync(await _host.CreateApiClient(null).GetAsync("/client-api/a"));
        var second = await ProxyTestHost.EchoAsync(await _host.CreateApiClient(null).GetAsync("/reports-api/b"));

        Assert.StartsWith("DPoP ", first.Header("Authorization"), StringComparison.Ordinal);
        Assert.StartsWith("DPoP ", second.Header("Authorization"), StringComparison.Ordinal);
        var nonces = _host.Idp.DPoPProofs.Where(p => p.Grant == "client_credentials").Select(p => DPoPProofReader.Read(p.Proof)!.Nonce).ToList();
        Assert.Equal([null, "cc-nonce", "cc-nonce"], nonces);
    }

    [Fact]
    public async Task Neither_keys_nor_proofs_nor_tokens_reach_the_logs()
    {
        _host.Idp.DPoPNonce = "logged?";
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        _host.Time.Advance(FiveMinutes - TimeSpan.FromSeconds(20));
        await browser.GetWithCsrfAsync("/api/orders");

        var logs = _host.Gateway.Logs.AllText;
        Assert.Contains(Keys.CurrentOrNull!.Thumbprint, logs, StringComparison.Ordinal);
        foreach (var (_, proof) in _host.Idp.DPoPProofs)
        {
            Assert.DoesNotContain(proof!.Split('.')[1], logs, StringComparison.Ordinal);
            Assert.DoesNotContain(proof.Split('.')[2], logs, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(session.Tokens.AccessToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(session.Tokens.RefreshToken!, logs, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", logs, StringComparison.Ordinal);
    }
}
