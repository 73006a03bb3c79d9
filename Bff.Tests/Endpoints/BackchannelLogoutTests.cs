using System.Net;
using System.Security.Cryptography;
using System.Text;
using Bff.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Endpoints;

/// <summary>
/// OpenID Connect Back-Channel Logout: the provider posts a logout token to one replica, and the user's sessions end on
/// every replica. Anything but a valid, fresh, unused logout token is refused and ends nothing.
/// </summary>
public sealed class BackchannelLogoutTests : IAsyncLifetime
{
    private const string LogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    /// <summary>Well under the session cache's 5 s safety-net age: the other replica learnt of the logout over pub/sub.</summary>
    private static readonly TimeSpan InvalidationDeadline = TimeSpan.FromSeconds(1);

    private readonly ReplicaSet _set = new();

    private TestIdentityProvider Idp => _set.Idp;

    public Task InitializeAsync() => _set.InitializeAsync();

    public Task DisposeAsync() => _set.DisposeAsync();

    [Fact]
    public async Task A_valid_logout_token_received_by_one_replica_ends_the_session_on_every_replica()
    {
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");

        var response = await PostAsync(a, LogoutToken(sid: "sid-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
            InvalidationDeadline));
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Theory]
    [InlineData("no events claim", "events claim without the back-channel logout event")]
    [InlineData("events without the logout event", "events claim without the back-channel logout event")]
    [InlineData("logout event that is not an object", "events claim without the back-channel logout event")]
    [InlineData("nonce present", "a nonce claim is present")]
    [InlineData("alg none", "SecurityTokenInvalidSignatureException")]
    [InlineData("signature by another key under the provider's kid", "SecurityTokenInvalidSignatureException")]
    [InlineData("key the provider does not publish", "SecurityTokenSignatureKeyNotFoundException")]
    [InlineData("HS256 with the client secret", "SecurityTokenInvalidSignatureException")]
    [InlineData("wrong audience", "SecurityTokenInvalidAudienceException")]
    [InlineData("wrong issuer", "SecurityTokenInvalidIssuerException")]
    [InlineData("neither sub nor sid", "neither sub nor sid")]
    [InlineData("no iat", "no iat claim")]
    [InlineData("stale iat", "iat is too old")]
    [InlineData("iat in the future", "iat is in the future")]
    [InlineData("expired", "the token has expired")]
    [InlineData("no jti", "no jti claim")]
    [InlineData("typ at+jwt", "typ header names another kind of JWT")]
    [InlineData("typ application/id_token+jwt", "typ header names another kind of JWT")]
    [InlineData("typ secevent+jwt", "typ header names another kind of JWT")]
    [InlineData("an ID token", "events claim without the back-channel logout event")]
    [InlineData("an ID token without a typ header", "events claim without the back-channel logout event")]
    [InlineData("not a JWT", "not a JWT")]
    public async Task An_invalid_logout_token_is_refused_and_the_session_kept(string defect, string reason)
    {
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");

        var response = await PostAsync(a, DefectiveLogoutToken(defect, sid: "sid-1"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"invalid_logout_token\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Refused for its own defect, not by accident of another check.
        Assert.Contains(a.Logs.Lines, l => l.EventId.Id == 2051 && l.Message.Contains(reason, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_logout_token_signed_with_the_providers_new_key_after_a_rotation_is_accepted()
    {
        // A read the provider's keys when the user signed in there; then the provider rotates.
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");
        Idp.RotateSigningKey("key-2");

        var response = await PostAsync(a, LogoutToken(sid: "sid-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
            InvalidationDeadline));
    }

    [Fact]
    public async Task A_logout_token_replayed_to_another_replica_is_refused()
    {
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");
        var token = LogoutToken(sid: "sid-1");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(a, token)).StatusCode);
        // The user signs in again in the same provider session (the provider would issue a new sid; the replay reuses the old one).
        await browser.SignInAsync(Idp, shape: s => s.ProviderSessionId = "sid-1");

        var replay = await PostAsync(b, token);

        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Contains("\"invalid_logout_token\"", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_logout_token_for_an_unknown_provider_session_is_accepted_and_ends_nothing()
    {
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");

        var response = await PostAsync(b, LogoutToken(sid: "sid-unknown"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_logout_token_naming_only_the_subject_ends_all_of_that_users_sessions_and_no_one_elses()
    {
        var a = _set.Start();
        var b = _set.Start();
        using var laptop = a.CreateBrowser();
        using var phone = a.CreateBrowser();
        using var bob = a.CreateBrowser();
        await laptop.SignInAsync(Idp, subject: "alice");
        await phone.SignInAsync(Idp, subject: "alice");
        await bob.SignInAsync(Idp, subject: "bob");

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(b, LogoutToken(sub: "alice", sid: null))).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await laptop.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await phone.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
            InvalidationDeadline));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task A_logout_token_naming_sid_and_sub_ends_only_that_subjects_session()
    {
        var (a, b, browser) = await SignedInOnTwoReplicasAsync("sid-1");

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(a, LogoutToken(sub: "mallory", sid: "sid-1"))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task Only_a_form_post_of_bounded_size_is_accepted()
    {
        var (a, _, browser) = await SignedInOnTwoReplicasAsync("sid-1");
        using var http = new HttpClient { BaseAddress = a.BaseAddress };

        var json = await http.PostAsync("/bff/backchannel", new StringContent($"{{\"logout_token\":\"{LogoutToken(sid: "sid-1")}\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);

        var huge = await http.PostAsync("/bff/backchannel", new FormUrlEncodedContent([new("logout_token", new string('a', 20_000))]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Contains("\"request_too_large\"", await huge.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var chunked = new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes("logout_token=" + new string('a', 20_000))));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-www-form-urlencoded");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/bff/backchannel") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.SendAsync(request)).StatusCode);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.GetAsync("/bff/backchannel")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
    }

    [Fact]
    public async Task Back_channel_logout_works_with_the_in_memory_store_too()
    {
        using var gateway = new GatewayFactory(Idp);
        using var browser = gateway.CreateBrowser();
        await browser.SignInAsync(Idp, shape: s => s.ProviderSessionId = "sid-1");
        var token = LogoutToken(sid: "sid-1");
        using var provider = gateway.CreateClient();

        var refused = await provider.PostAsync("/bff/backchannel", Form(DefectiveLogoutToken("nonce present", sid: "sid-1")));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await provider.PostAsync("/bff/backchannel", Form(token))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await provider.PostAsync("/bff/backchannel", Form(token))).StatusCode);
    }

    private async Task<(GatewayReplica A, GatewayReplica B, BrowserClient Browser)> SignedInOnTwoReplicasAsync(string sid)
    {
        var a = _set.Start();
        var b = _set.Start();
        var browser = a.CreateBrowser();
        await browser.SignInAsync(Idp, shape: s => s.ProviderSessionId = sid);
        // Both replicas have read (and may cache) the session.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        return (a, b, browser);
    }

    /// <summary>The provider's server posting a logout token: no cookies, no CSRF header.</summary>
    private static async Task<HttpResponseMessage> PostAsync(GatewayReplica replica, string logoutToken)
    {
        using var http = new HttpClient { BaseAddress = replica.BaseAddress };
        var response = await http.PostAsync("/bff/backchannel", Form(logoutToken));
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static FormUrlEncodedContent Form(string logoutToken) => new([new("logout_token", logoutToken)]);

    private string LogoutToken(string? sid, string? sub = "alice") => CreateLogoutToken(Claims(sid, sub));

    private Dictionary<string, object> Claims(string? sid, string? sub)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Idp.Issuer,
            ["aud"] = TestIdentityProvider.ClientId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(2).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["events"] = new Dictionary<string, object> { [LogoutEvent] = new Dictionary<string, object>() },
        };
        if (sid is not null)
        {
            claims["sid"] = sid;
        }

        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        return claims;
    }

    private string CreateLogoutToken(Dictionary<string, object> claims, SigningCredentials? credentials = null, string? type = "logout+jwt") =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            TokenType = type,
            SigningCredentials = credentials ?? new SigningCredentials(Idp.SigningKey, SecurityAlgorithms.RsaSha256),
        });

    /// <summary>A token signed by the provider whose header has no <c>typ</c> (the token handler always writes one).</summary>
    private string SignWithoutType(string payloadJson)
    {
        var header = Base64UrlEncoder.Encode($"{{\"alg\":\"RS256\",\"kid\":\"{Idp.SigningKey.KeyId}\"}}");
        var signingInput = header + "." + Base64UrlEncoder.Encode(payloadJson);
        var signature = Idp.SigningKey.Rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    private string DefectiveLogoutToken(string defect, string sid)
    {
        var claims = Claims(sid, "alice");
        var now = DateTimeOffset.UtcNow;
        switch (defect)
        {
            case "no events claim":
                claims.Remove("events");
                break;
            case "events without the logout event":
                claims["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/other"] = new Dictionary<string, object>() };
                break;
            case "logout event that is not an object":
                claims["events"] = new Dictionary<string, object> { [LogoutEvent] = "yes" };
                break;
            case "nonce present":
                claims["nonce"] = "n-123";
                break;
            case "alg none":
                return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }
                    .CreateToken(new SecurityTokenDescriptor { Claims = claims, TokenType = "logout+jwt" });
            case "signature by another key under the provider's kid":
                return CreateLogoutToken(claims, new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)) { KeyId = Idp.SigningKey.KeyId }, SecurityAlgorithms.RsaSha256));
            case "key the provider does not publish":
                return CreateLogoutToken(claims, new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)) { KeyId = "attacker" }, SecurityAlgorithms.RsaSha256));
            case "HS256 with the client secret":
                var secret = SHA256.HashData(Encoding.UTF8.GetBytes(TestIdentityProvider.ClientSecret));
                return CreateLogoutToken(claims, new SigningCredentials(new SymmetricSecurityKey(secret) { KeyId = Idp.SigningKey.KeyId }, SecurityAlgorithms.HmacSha256));
            case "wrong audience":
                claims["aud"] = "another-client";
                break;
            case "wrong issuer":
                claims["iss"] = "https://issuer.example";
                break;
            case "neither sub nor sid":
                claims.Remove("sub");
                claims.Remove("sid");
                break;
            case "no iat":
                claims.Remove("iat");
                break;
            case "stale iat":
                claims["iat"] = now.AddHours(-1).ToUnixTimeSeconds();
                claims.Remove("exp");
                break;
            case "iat in the future":
                claims["iat"] = now.AddHours(1).ToUnixTimeSeconds();
                claims["exp"] = now.AddHours(2).ToUnixTimeSeconds();
                break;
            case "expired":
                claims["iat"] = now.AddMinutes(-8).ToUnixTimeSeconds();
                claims["exp"] = now.AddMinutes(-6).ToUnixTimeSeconds();
                break;
            case "no jti":
                claims.Remove("jti");
                break;
            case "typ at+jwt":
                return CreateLogoutToken(claims, type: "at+jwt");
            case "typ application/id_token+jwt":
                return CreateLogoutToken(claims, type: "application/id_token+jwt");
            case "typ secevent+jwt":
                return CreateLogoutToken(claims, type: "secevent+jwt");
            case "an ID token":
                return Idp.CreateIdToken(new IdTokenShape { Subject = "alice", Nonce = "n-123", ProviderSessionId = sid });
            case "an ID token without a typ header":
                var idToken = new JsonWebToken(Idp.CreateIdToken(new IdTokenShape { Subject = "alice", ProviderSessionId = sid }));
                return SignWithoutType(Base64UrlEncoder.Decode(idToken.EncodedPayload));
            case "not a JWT":
                return "not-a-jwt";
            default:
                throw new ArgumentOutOfRangeException(nameof(defect), defect, null);
        }

        return CreateLogoutToken(claims);
    }
}
