using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.DependencyInjection;
using WireMock;
using WireMock.Types;

namespace Bff.Tests.DPoP;

/// <summary>
/// Userinfo with a DPoP-bound access token (RFC 9449 §7), at sign-in (<c>Bff:Claims:FromUserInfo</c>) and after a
/// refresh (<c>Bff:Claims:RefreshUserInfo</c>), against a stub provider that refuses a bound token presented as a
/// bearer token and checks every proof (<c>htm</c>, <c>htu</c>, <c>ath</c>, a new <c>jti</c>, the signing key).
/// </summary>
public sealed class DPoPUserInfoTests : IAsyncLifetime
{
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Bff:DPoP:Enabled"] = "true",
            ["Bff:Claims:FromUserInfo"] = "true",
            ["Bff:Claims:RefreshUserInfo"] = "true",
        });
        _host.Idp.UserInfo = UserInfo("alice", "ops");
        // A query on the endpoint (as some providers publish) is left out of the proof's htu.
        _host.Idp.ExtraDiscoveryFields["userinfo_endpoint"] = _host.Idp.Authority + "/userinfo?schema=openid";
        _host.Idp.AccessTokenLifetime = FiveMinutes;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private DPoPKeys Keys => _host.Gateway.Services.GetRequiredService<DPoPKeys>();

    private List<IRequestMessage> UserInfoRequests => [.. _host.Idp.RequestsTo("/userinfo")];

    private static JsonObject UserInfo(string subject, string department) =>
        new() { ["sub"] = subject, ["department"] = department, ["groups"] = new JsonArray("staff") };

    [Fact]
    public async Task Sign_in_reads_userinfo_with_the_bound_token_and_a_proof_of_that_request_and_its_claims_reach_bff_user()
    {
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        var key = Keys.CurrentOrNull!;
        Assert.Equal(key.Thumbprint, session.Tokens.DPoPKeyThumbprint);
        var request = Assert.Single(UserInfoRequests);
        Assert.Equal("DPoP " + session.Tokens.AccessToken, Header(request, "Authorization"));
        AssertProofOf(request, session.Tokens.AccessToken, key.Thumbprint);
        var claims = await browser.UserClaimsAsync();
        Assert.Contains(("department", "ops"), claims);
        Assert.Contains(("groups", "staff"), claims);
    }

    [Fact]
    public async Task Userinfo_for_another_subject_refuses_the_sign_in()
    {
        _host.Idp.UserInfo = UserInfo("mallory", "ops");
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.BadRequest, "login_failed");
        Assert.Null(browser.CookieValue(ProxyTestHost.CookieName));
        Assert.Single(UserInfoRequests);
    }

    [Fact]
    public async Task A_provider_without_a_userinfo_endpoint_signs_in_with_the_id_tokens_claims()
    {
        _host.Idp.UserInfo = null;
        _host.Idp.ExtraDiscoveryFields.Remove("userinfo_endpoint");
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Empty(UserInfoRequests);
        Assert.Contains(("sub", "alice"), await browser.UserClaimsAsync());
    }

    [Fact]
    public async Task A_userinfo_nonce_challenge_at_sign_in_is_answered_once_with_the_nonce()
    {
        _host.Idp.UserInfoDPoPNonce = "userinfo-nonce";
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var proofs = UserInfoRequests.Select(r => DPoPProofReader.Read(Header(r, "DPoP"))!).ToList();
        Assert.Equal([null, "userinfo-nonce"], proofs.Select(p => p.Nonce));
        Assert.NotEqual(proofs[0].Jti, proofs[1].Jti);
        Assert.Contains(("department", "ops"), await browser.UserClaimsAsync());
    }

    [Fact]
    public async Task A_provider_that_asks_for_a_new_nonce_again_gets_one_retry_and_the_sign_in_fails()
    {
        var challenges = 0;
        _host.Idp.UserInfoBehavior = _ => new ResponseMessage
        {
            StatusCode = 401,
            Headers = new Dictionary<string, WireMockList<string>>
            {
                ["WWW-Authenticate"] = new("DPoP error=\"use_dpop_nonce\""),
                ["DPoP-Nonce"] = new("nonce-" + Interlocked.Increment(ref challenges)),
            },
        };
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.BadRequest, "login_failed");
        Assert.Null(browser.CookieValue(ProxyTestHost.CookieName));
        var proofs = UserInfoRequests.Select(r => DPoPProofReader.Read(Header(r, "DPoP"))!).ToList();
        Assert.Equal([null, "nonce-1"], proofs.Select(p => p.Nonce));
    }

    [Fact]
    public async Task A_userinfo_call_retried_after_a_transient_failure_carries_a_fresh_proof()
    {
        _host.Idp.FailNext("/userinfo", 1);
        using var browser = _host.CreateBrowser();

        var callback = await _host.Time.RunThroughShortTimersAsync(() => browser.SignInAsync(_host.Idp));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var session = _host.StoredSession(browser.CookieValue(ProxyTestHost.CookieName)!)!;
        Assert.Equal(2, UserInfoRequests.Count);
        Assert.All(UserInfoRequests, r => AssertProofOf(r, session.Tokens.AccessToken, session.Tokens.DPoPKeyThumbprint!));
        var ids = UserInfoRequests.Select(r => DPoPProofReader.Read(Header(r, "DPoP"))!.Jti).ToList();
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Fact]
    public async Task After_a_refresh_userinfo_is_read_with_a_proof_of_the_refreshed_token()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        var signedIn = _host.StoredSession(key)!;
        _host.Idp.UserInfo = UserInfo("alice", "audit");
        _host.Time.Advance(FiveMinutes);

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var refreshed = _host.StoredSession(key)!;
        Assert.NotEqual(signedIn.Tokens.AccessToken, refreshed.Tokens.AccessToken);
        Assert.Equal(2, UserInfoRequests.Count);
        var request = UserInfoRequests[^1];
        Assert.Equal("DPoP " + refreshed.Tokens.AccessToken, Header(request, "Authorization"));
        AssertProofOf(request, refreshed.Tokens.AccessToken, refreshed.Tokens.DPoPKeyThumbprint!);
        Assert.Contains(refreshed.Claims, c => c.Type == "department" && c.Value == "audit");
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2160);
    }

    [Fact]
    public async Task After_a_refresh_a_userinfo_nonce_challenge_is_answered_exactly_once_and_nothing_secret_is_logged()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        _host.Idp.UserInfo = UserInfo("alice", "audit");
        _host.Idp.UserInfoDPoPNonce = "after-refresh";
        _host.Time.Advance(FiveMinutes);

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var refreshed = _host.StoredSession(key)!;
        var afterRefresh = UserInfoRequests.Skip(1).ToList();
        Assert.Equal(2, afterRefresh.Count);
        var proofs = afterRefresh.Select(r => DPoPProofReader.Read(Header(r, "DPoP"))!).ToList();
        Assert.Equal([null, "after-refresh"], proofs.Select(p => p.Nonce));
        Assert.All(afterRefresh, r => AssertProofOf(r, refreshed.Tokens.AccessToken, refreshed.Tokens.DPoPKeyThumbprint!));
        Assert.Contains(refreshed.Claims, c => c.Type == "department" && c.Value == "audit");
        Assert.Equal(1, _host.Idp.RefreshRequests);

        var logs = _host.Gateway.Logs.AllText;
        foreach (var request in UserInfoRequests)
        {
            var proof = Header(request, "DPoP")!;
            Assert.DoesNotContain(proof.Split('.')[1], logs, StringComparison.Ordinal);
            Assert.DoesNotContain(proof.Split('.')[2], logs, StringComparison.Ordinal);
            Assert.DoesNotContain(Header(request, "Authorization")!["DPoP ".Length..], logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_bearer_token_goes_to_userinfo_as_a_bearer_token_without_a_proof()
    {
        _host.Idp.BindsDPoPTokens = false;
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(_host.Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        _host.Time.Advance(FiveMinutes);
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var refreshed = _host.StoredSession(key)!;
        Assert.Null(refreshed.Tokens.DPoPKeyThumbprint);
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Equal(2, UserInfoRequests.Count);
        Assert.All(UserInfoRequests, r =>
        {
            Assert.StartsWith("Bearer ", Header(r, "Authorization"), StringComparison.Ordinal);
            Assert.Null(Header(r, "DPoP"));
        });
        Assert.Equal("Bearer " + refreshed.Tokens.AccessToken, Header(UserInfoRequests[^1], "Authorization"));
        Assert.Contains(("department", "ops"), await browser.UserClaimsAsync());
    }

    private void AssertProofOf(IRequestMessage request, string accessToken, string thumbprint)
    {
        var proof = DPoPProofReader.Read(Header(request, "DPoP"));
        Assert.NotNull(proof);
        Assert.Equal("dpop+jwt", proof.Typ);
        Assert.Equal("GET", proof.Htm);
        Assert.Equal(_host.Idp.Authority + "/userinfo", proof.Htu);
        Assert.Equal(DPoPProofReader.AccessTokenHash(accessToken), proof.Ath);
        Assert.Equal(thumbprint, proof.Thumbprint);
    }

    private static string? Header(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
}
