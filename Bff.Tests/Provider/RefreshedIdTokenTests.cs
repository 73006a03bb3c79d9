using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Provider;

/// <summary>
/// An ID token that comes back from a refresh is held to the sign-in's rules (signature with the provider's keys,
/// <c>iss</c>, <c>aud</c>, <c>exp</c>) and to OpenID Connect Core 1.0 section 12.2 (same <c>sub</c>, <c>iss</c> and
/// <c>auth_time</c>, an <c>iat</c>). One that fails makes the whole token response untrustworthy: its access token never
/// reaches the API, the session ends (its refresh token is spent), and the refresh token is not sent again.
/// </summary>
public sealed class RefreshedIdTokenTests : IAsyncLifetime
{
    private const long SignInAuthTime = 1_700_000_000;
    private const string RefreshedAccessToken = "at.alice.from-the-refresh";
    private const string RefreshedRefreshToken = "rt.alice.from-the-refresh";
    private static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromMinutes(5);

    private ProxyTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync();
        _host.Idp.AccessTokenLifetime = AccessTokenLifetime;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string> RefusedIdTokens => new()
    {
        "signed with a key the provider never published",
        "signed with another key under the provider's kid",
        "alg none",
        "another iss",
        "the issuer of another tenant",
        "another aud",
        "another sub",
        "no sub",
        "expired",
        "issued in the future",
        "no iat",
        "another auth_time",
    };

    [Theory]
    [MemberData(nameof(RefusedIdTokens))]
    public async Task A_refreshed_id_token_that_fails_validation_ends_the_session_and_nothing_of_its_response_is_used(string defect)
    {
        var (browser, key) = await SignedInWithExpiringTokenAsync();
        var signInRefreshToken = _host.StoredSession(key)!.Tokens.RefreshToken;
        var idToken = _host.Idp.CreateIdToken(Bend(defect));
        _host.Idp.RefreshBehavior = _ => RefreshResponse(idToken);

        var response = await browser.GetWithCsrfAsync("/api/orders");

        await ForwardingTests.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "session_expired");
        Assert.Contains(SetCookie.From(response), c => c.Name == ProxyTestHost.CookieName && c.IsDeletion);
        Assert.Empty(_host.Api.Received);
        Assert.Null(_host.StoredSession(key));
        Assert.Equal(signInRefreshToken, Assert.Single(_host.TokenRequests("refresh_token"))["refresh_token"]);
        var refused = Assert.Single(_host.Gateway.Logs.Lines, l => l.EventId.Id == 3027);
        Assert.Equal(LogLevel.Error, refused.Level);

        // The stale cookie again: nothing is forwarded, and neither refresh token is sent to the provider.
        browser.PutCookie(ProxyTestHost.CookieName, key);
        var again = await browser.GetWithCsrfAsync("/api/orders");
        await ForwardingTests.AssertProblemAsync(again, HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.Equal(1, _host.Idp.RefreshRequests);
        Assert.Empty(_host.Api.Received);

        var logs = _host.Gateway.Logs.AllText;
        Assert.DoesNotContain(RefreshedAccessToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(RefreshedRefreshToken, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(idToken.Split('.')[1], logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_refreshed_id_token_replaces_the_sessions_and_is_the_next_logout_hint()
    {
        var (browser, key) = await SignedInWithExpiringTokenAsync();
        // A nonce in a refreshed ID token is not compared with anything: no nonce was sent with the refresh.
        var idToken = _host.Idp.CreateIdToken(Bend("valid", shape => shape.Nonce = "the-providers-own"));
        _host.Idp.RefreshBehavior = _ => RefreshResponse(idToken);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + RefreshedAccessToken, echo.Header("Authorization"));
        var stored = _host.StoredSession(key)!;
        Assert.Equal(idToken, stored.Tokens.IdToken);
        Assert.Equal(RefreshedRefreshToken, stored.Tokens.RefreshToken);
        Assert.Equal(idToken, await LogoutHintAsync(browser));
    }

    [Fact]
    public async Task A_refreshed_id_token_signed_with_a_newly_rotated_key_is_accepted()
    {
        var (browser, key) = await SignedInWithExpiringTokenAsync();
        _host.Idp.RotateSigningKey("key-2");
        var idToken = _host.Idp.CreateIdToken(Bend("valid"));
        _host.Idp.RefreshBehavior = _ => RefreshResponse(idToken);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + RefreshedAccessToken, echo.Header("Authorization"));
        Assert.Equal(idToken, _host.StoredSession(key)!.Tokens.IdToken);
    }

    [Fact]
    public async Task A_refresh_without_an_id_token_keeps_the_sign_in_one_as_the_logout_hint()
    {
        var (browser, key) = await SignedInWithExpiringTokenAsync();
        var signInIdToken = _host.StoredSession(key)!.Tokens.IdToken;
        _host.Idp.RefreshBehavior = _ => RefreshResponse(idToken: null);

        var echo = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        Assert.Equal("Bearer " + RefreshedAccessToken, echo.Header("Authorization"));
        Assert.Equal(signInIdToken, _host.StoredSession(key)!.Tokens.IdToken);
        Assert.Equal(signInIdToken, await LogoutHintAsync(browser));
    }

    /// <summary>
    /// Signs alice in through the provider (so the session holds a real ID token with an <c>auth_time</c>), then moves
    /// the clock into the refresh window of her access token.
    /// </summary>
    private async Task<(BrowserClient Browser, string Key)> SignedInWithExpiringTokenAsync()
    {
        var browser = _host.CreateBrowser();
        await browser.SignInAsync(_host.Idp, subject: "alice", shape: shape => shape.Claims["auth_time"] = SignInAuthTime);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        Assert.NotNull(_host.StoredSession(key)!.Tokens.IdToken);
        _host.Time.Advance(AccessTokenLifetime - TimeSpan.FromSeconds(30));
        return (browser, key);
    }

    /// <summary>What a refreshed ID token for the signed-in alice looks like, with one thing wrong (or none: "valid").</summary>
    private IdTokenShape Bend(string defect, Action<IdTokenShape>? more = null)
    {
        var shape = new IdTokenShape { Subject = "alice", Claims = new Dictionary<string, object> { ["auth_time"] = SignInAuthTime } };
        switch (defect)
        {
            case "valid":
                break;
            case "signed with a key the provider never published":
                shape.SigningKeyOverride = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "key-never-published" };
                break;
            case "signed with another key under the provider's kid":
                shape.SigningKeyOverride = new RsaSecurityKey(RSA.Create(2048)) { KeyId = _host.Idp.SigningKey.KeyId };
                break;
            case "alg none":
                shape.WithoutSignature = true;
                break;
            case "another iss":
                shape.Issuer = "https://issuer.example";
                break;
            case "the issuer of another tenant":
                shape.Issuer = _host.Idp.Authority + "/other";
                break;
            case "another aud":
                shape.Audience = "another-client";
                break;
            case "another sub":
                shape.Subject = "mallory";
                break;
            case "expired":
                // Long expired on the gateway's clock and on the provider's alike, beyond any clock skew.
                shape.ClockOffset = TimeSpan.FromHours(-2);
                break;
            case "no sub":
                shape.Subject = null;
                break;
            case "issued in the future":
                shape.ClockOffset = TimeSpan.FromMinutes(30);
                break;
            case "no iat":
                shape.IncludeIssuedAt = false;
                break;
            case "another auth_time":
                shape.Claims["auth_time"] = SignInAuthTime + 3600;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        more?.Invoke(shape);
        return shape;
    }

    private static WireMock.ResponseMessage RefreshResponse(string? idToken)
    {
        var body = new JsonObject
        {
            ["access_token"] = RefreshedAccessToken,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            ["refresh_token"] = RefreshedRefreshToken,
        };
        if (idToken is not null)
        {
            body["id_token"] = idToken;
        }

        return TestIdentityProvider.Json(200, body);
    }

    /// <summary>Logs out and returns the <c>id_token_hint</c> of the provider's end-session redirect.</summary>
    private static async Task<string?> LogoutHintAsync(BrowserClient browser)
    {
        using var user = JsonDocument.Parse(await (await browser.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync());
        var logout = await browser.GetAsync(user.RootElement.GetProperty("logoutUrl").GetString()!);
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        return HttpUtility.ParseQueryString(logout.Headers.Location!.Query)["id_token_hint"];
    }
}
