using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Provider;

/// <summary>
/// A provider that signs its userinfo answers (the client registered <c>userinfo_signed_response_alg</c>; the answer is
/// <c>application/jwt</c>, OpenID Connect Core 5.3.2): the gateway reads one only once it is verified with the
/// provider's keys, <c>iss</c> and <c>aud</c> checked when present, at sign-in and after a refresh
/// (<c>Bff:Claims:RefreshUserInfo</c>); anything else fails the sign-in with <c>login_failed</c>, and the answer's
/// content never reaches the log.
/// </summary>
public abstract class SignedUserInfoTests(bool dpop) : IAsyncLifetime
{
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    private ProxyTestHost _host = null!;

    private TestIdentityProvider Idp => _host.Idp;

    public async Task InitializeAsync()
    {
        _host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Bff:DPoP:Enabled"] = dpop ? "true" : "false",
            ["Bff:Claims:FromUserInfo"] = "true",
            ["Bff:Claims:RefreshUserInfo"] = "true",
        });
        _host.Idp.UserInfo = UserInfo("alice", "vault-7");
        _host.Idp.AccessTokenLifetime = FiveMinutes;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static JsonObject UserInfo(string subject, string department) =>
        new() { ["sub"] = subject, ["department"] = department, ["groups"] = new JsonArray("staff", "ops") };

    [Fact]
    public async Task A_signed_userinfo_answer_is_verified_and_its_claims_reach_bff_user()
    {
        Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info);
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var claims = await browser.UserClaimsAsync();
        Assert.Contains(("department", "vault-7"), claims);
        Assert.Contains(("groups", "staff"), claims);
        Assert.Contains(("groups", "ops"), claims);
        Assert.DoesNotContain(claims, c => c.Type is "iss" or "aud");
    }

    /// <summary>
    /// The claims a JSON answer gives, pinned as the OpenID Connect handler gave them when it read userinfo: every member
    /// through its <c>MapAll</c> claim action (<c>JsonElement.ToString()</c>: <c>True</c> for a JSON true, the raw text of
    /// a number or object, an empty string for null), a member equal to an ID token claim dropped, arrays one claim per
    /// element; a signed answer with the same members gives the same.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Userinfo_claims_at_sign_in_are_those_the_OpenID_Connect_handler_gave(bool asJwt)
    {
        Idp.UserInfo = new JsonObject
        {
            ["sub"] = "alice",
            ["name"] = "Alice Example",
            ["department"] = "vault-7",
            ["groups"] = new JsonArray("staff", "ops"),
            ["email_verified"] = true,
            ["phone_number_verified"] = false,
            ["age"] = 42,
            ["nickname"] = null,
            ["address"] = new JsonObject { ["locality"] = "Berlin" },
        };
        if (asJwt)
        {
            Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info);
        }

        using var browser = _host.CreateBrowser();

        await browser.SignInAsync(Idp);

        var claims = (await browser.UserClaimsAsync()).Where(c => c.Type is not ("acr" or "auth_time")).ToList();
        Assert.Equal(
            [
                ("sub", "alice"), ("name", "Alice Example"), ("department", "vault-7"), ("groups", "staff"), ("groups", "ops"),
                ("email_verified", "True"), ("phone_number_verified", "False"), ("age", "42"), ("nickname", ""),
                ("address", "{\"locality\":\"Berlin\"}"),
            ],
            claims);
    }

    [Fact]
    public async Task A_signed_answer_without_iss_and_aud_is_read_as_the_specification_only_recommends_them()
    {
        Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info, issuer: "", audience: "");
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Contains(("department", "vault-7"), await browser.UserClaimsAsync());
    }

    [Fact]
    public async Task A_signed_answer_whose_aud_lists_the_client_among_others_is_read()
    {
        Idp.UserInfoAsJwt = info =>
        {
            info = info.DeepClone().AsObject();
            info["aud"] = new JsonArray("another-client", TestIdentityProvider.ClientId);
            return Idp.SignUserInfo(info, audience: "");
        };
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Contains(("department", "vault-7"), await browser.UserClaimsAsync());
    }

    [Fact]
    public async Task A_signed_answer_with_a_key_the_provider_rotated_to_is_read_after_one_fetch_of_its_keys()
    {
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(Idp); // the gateway caches the provider's current keys
        Idp.RotateSigningKey("key-2");
        Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info);
        using var second = _host.CreateBrowser();

        var callback = await second.SignInAsync(Idp);

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Contains(("department", "vault-7"), await second.UserClaimsAsync());
    }

    public static TheoryData<string> RefusedAnswers =>
    [
        "another key, same kid",
        "another key, unknown kid",
        "another issuer",
        "another audience",
        "alg none",
        "HS256 with the provider's public key",
        "an algorithm the provider does not offer for userinfo",
        "encrypted (JWE)",
        "not a JWT",
    ];

    [Theory]
    [MemberData(nameof(RefusedAnswers))]
    public async Task A_signed_answer_that_does_not_verify_fails_the_sign_in_and_nothing_of_it_is_logged(string answer)
    {
        var sent = Forge(answer, Idp.UserInfo!);
        Idp.UserInfoAsJwt = _ => sent;
        using var browser = _host.CreateBrowser();

        var callback = await browser.SignInAsync(Idp);

        await ForwardingTests.AssertProblemAsync(callback, HttpStatusCode.BadRequest, "login_failed");
        Assert.Null(browser.CookieValue(ProxyTestHost.CookieName));
        Assert.Single(Idp.RequestsTo("/userinfo"));
        var logs = _host.Gateway.Logs;
        var warning = Assert.Single(logs.Lines, l => l.EventId.Id == 2001);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("userinfo could not be read", warning.Message, StringComparison.Ordinal);
        AssertNothingOf(sent, logs.AllText);
    }

    [Fact]
    public async Task After_a_refresh_a_signed_answer_is_verified_and_gives_the_session_its_claims()
    {
        Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info);
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        Idp.UserInfo = UserInfo("alice", "audit");
        _host.Time.Advance(FiveMinutes);

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var refreshed = _host.StoredSession(key)!;
        Assert.Equal(1, Idp.RefreshRequests);
        Assert.Contains(refreshed.Claims, c => c.Type == "department" && c.Value == "audit");
        Assert.DoesNotContain(refreshed.Claims, c => c.Type == "department" && c.Value == "vault-7");
        Assert.Contains(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2160);
    }

    [Fact]
    public async Task After_a_refresh_a_signed_answer_from_another_key_keeps_the_claims_with_a_warning_and_nothing_of_it_logged()
    {
        Idp.UserInfoAsJwt = info => Idp.SignUserInfo(info);
        using var browser = _host.CreateBrowser();
        await browser.SignInAsync(Idp);
        var key = browser.CookieValue(ProxyTestHost.CookieName)!;
        Idp.UserInfo = UserInfo("alice", "forged-dept");
        string? sent = null;
        Idp.UserInfoAsJwt = info => sent = Forge("another key, same kid", info);
        _host.Time.Advance(FiveMinutes);

        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/orders"));

        var refreshed = _host.StoredSession(key)!;
        Assert.Equal(1, Idp.RefreshRequests);
        Assert.Contains(refreshed.Claims, c => c.Type == "department" && c.Value == "vault-7");
        Assert.DoesNotContain(refreshed.Claims, c => c.Value == "forged-dept");
        var warning = Assert.Single(_host.Gateway.Logs.Lines, l => l.EventId.Id == 2161);
        Assert.Contains("does not verify", warning.Message, StringComparison.Ordinal);
        AssertNothingOf(sent!, _host.Gateway.Logs.AllText);
    }

    private string Forge(string answer, JsonObject info)
    {
        var other = new RsaSecurityKey(RSA.Create(2048));
        switch (answer)
        {
            case "another key, same kid":
                other.KeyId = Idp.SigningKey.KeyId;
                return Idp.SignUserInfo(info, other);
            case "another key, unknown kid":
                other.KeyId = "attacker";
                return Idp.SignUserInfo(info, other);
            case "another issuer":
                return Idp.SignUserInfo(info, issuer: "https://attacker.example");
            case "another audience":
                return Idp.SignUserInfo(info, audience: "another-client");
            case "alg none":
                return Segment(new JsonObject { ["alg"] = "none", ["typ"] = "JWT" }) + "." + Segment(Claims(info)) + ".";
            case "HS256 with the provider's public key":
                var publicKey = Idp.SigningKey.Rsa.ExportSubjectPublicKeyInfo();
                var header = new JsonObject { ["alg"] = "HS256", ["kid"] = Idp.SigningKey.KeyId };
                var input = Segment(header) + "." + Segment(Claims(info));
                return input + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(publicKey, System.Text.Encoding.ASCII.GetBytes(input)));
            case "an algorithm the provider does not offer for userinfo":
                Idp.ExtraDiscoveryFields["userinfo_signing_alg_values_supported"] = new JsonArray("ES256", "none");
                return Idp.SignUserInfo(info);
            case "encrypted (JWE)":
                return new JsonWebTokenHandler().CreateToken(
                    Claims(info).ToJsonString(),
                    new SigningCredentials(Idp.SigningKey, SecurityAlgorithms.RsaSha256),
                    new EncryptingCredentials(new RsaSecurityKey(RSA.Create(2048)) { KeyId = "client-enc" }, SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes128CbcHmacSha256));
            case "not a JWT":
                return Claims(info).ToJsonString();
            default:
                throw new ArgumentOutOfRangeException(nameof(answer), answer, null);
        }

        JsonObject Claims(JsonObject claims)
        {
            var payload = claims.DeepClone().AsObject();
            payload["iss"] = Idp.Issuer;
            payload["aud"] = TestIdentityProvider.ClientId;
            return payload;
        }
    }

    private static string Segment(JsonObject json) => Base64UrlEncoder.Encode(json.ToJsonString());

    /// <summary>Neither the answer, nor any of its parts, nor the department it claims appears in the log.</summary>
    private static void AssertNothingOf(string answer, string logs)
    {
        foreach (var part in answer.Split('.').Where(p => p.Length > 8))
        {
            Assert.DoesNotContain(part, logs, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("vault-7", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("forged-dept", logs, StringComparison.Ordinal);
    }
}

/// <summary>With <c>Bff:DPoP:Enabled</c>: the gateway reads userinfo with the bound token and a proof.</summary>
public sealed class SignedUserInfoWithDPoPTests() : SignedUserInfoTests(dpop: true);

/// <summary>Without DPoP: the same checks, and the same claims as the OpenID Connect handler gave for a JSON answer.</summary>
public sealed class SignedUserInfoWithoutDPoPTests() : SignedUserInfoTests(dpop: false);
