using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;
using Bff.Tests.Browser;
using Bff.Configuration;
using Bff.Provider;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Demo;

/// <summary>
/// The demo provider's promises that the browser tests lean on: refresh tokens rotate and a reused one ends the
/// grant (so "no refresh rejected" in a browser test means the gateway never redeemed a token twice), revocation
/// ends the grant, and the client must authenticate. Driven over HTTP like the gateway would.
/// </summary>
public sealed class DemoProviderTests : IAsyncLifetime
{
    private const string RedirectUri = "http://localhost:1/signin-oidc";
    private readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(20));
    private readonly CookieContainer _cookies = new();
    private DemoProcess _provider = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var url = $"http://127.0.0.1:{port}";
        var dll = Path.Combine(DemoComposition.RepositoryRoot, "demo/Bff.Demo.Identity/bin", DemoComposition.BuildConfiguration, "net10.0/Bff.Demo.Identity.dll");
        var log = Path.Combine(Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "demo")).FullName, "provider.log");
        _provider = DemoProcess.Start("provider", dll, ["--urls", url, $"--Demo:Client:RedirectUris:0={RedirectUri}"],
            new Dictionary<string, string> { ["Demo__Client__ClientSecret"] = _secret, ["Demo__Client__Jwks"] = RegisteredJwks() }, log);
        await _provider.WaitUntilReadyAsync(new Uri(url + "/.well-known/openid-configuration"), TimeSpan.FromSeconds(60));
        _http = new HttpClient(new HttpClientHandler { CookieContainer = _cookies, AllowAutoRedirect = false }) { BaseAddress = new Uri(url) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _provider.DisposeAsync();
        _rsaClientKey.Dispose();
        _ecClientKey.Dispose();
    }

    [Fact]
    public async Task A_refresh_token_is_redeemed_once_and_reusing_it_revokes_the_grant()
    {
        var tokens = await SignInAsync();

        using var first = await RefreshAsync(tokens.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var rotated = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;
        Assert.NotEqual(tokens.RefreshToken, rotated);

        using var replay = await RefreshAsync(tokens.RefreshToken);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("invalid_grant", (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        using var afterReplay = await RefreshAsync(rotated);
        Assert.Equal(HttpStatusCode.BadRequest, afterReplay.StatusCode);

        var stats = await StatsAsync();
        Assert.Equal(1, stats.RefreshTokenGrants);
        Assert.Equal(2, stats.RefreshTokenRejections);
    }

    [Fact]
    public async Task A_revoked_refresh_token_cannot_be_redeemed()
    {
        var tokens = await SignInAsync();

        using var revoke = await _http.PostAsync("/connect/revocation", Form(
            ("token", tokens.RefreshToken), ("token_type_hint", "refresh_token"), ("client_id", "bff"), ("client_secret", _secret)));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        using var refresh = await RefreshAsync(tokens.RefreshToken);
        Assert.Equal(HttpStatusCode.BadRequest, refresh.StatusCode);
        Assert.Equal(1, (await StatsAsync()).Revocations);
    }

    [Fact]
    public async Task Access_tokens_are_short_lived_JWTs_for_the_demo_API_and_the_client_must_authenticate()
    {
        var tokens = await SignInAsync();

        var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(tokens.AccessToken.Split('.')[1])).RootElement;
        Assert.Equal("demo-api", payload.GetProperty("aud").GetString());
        Assert.Equal("d7a3c1e0-alice", payload.GetProperty("sub").GetString());
        Assert.Equal(45, payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64());

        using var wrongSecret = await _http.PostAsync("/connect/token", Form(
            ("grant_type", "refresh_token"), ("refresh_token", tokens.RefreshToken), ("client_id", "bff"), ("client_secret", "not-the-secret")));
        Assert.Equal("invalid_client", (await wrongSecret.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_gateways_client_assertions_are_accepted_RS256_and_ES256_and_one_signed_with_an_unregistered_key_is_refused()
    {
        var tokens = await SignInAsync();
        var configuration = new OpenIdConnectConfiguration(await _http.GetStringAsync("/.well-known/openid-configuration"));
        using var stranger = RSA.Create(2048);

        using var refused = await RefreshWithAssertionAsync(stranger.ExportPkcs8PrivateKeyPem(), configuration, tokens.RefreshToken);
        Assert.Equal("invalid_client", (await refused.Response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        var refreshToken = tokens.RefreshToken;
        foreach (var (key, algorithms) in new[] { (_rsaClientKey.ExportPkcs8PrivateKeyPem(), new[] { "PS256", "RS256" }), (_ecClientKey.ExportPkcs8PrivateKeyPem(), ["ES256"]) })
        {
            using var accepted = await RefreshWithAssertionAsync(key, configuration, refreshToken);
            Assert.True(accepted.Response.StatusCode == HttpStatusCode.OK, await accepted.Response.Content.ReadAsStringAsync());
            Assert.Contains(new JsonWebToken(accepted.Assertion).Alg, algorithms);
            refreshToken = (await accepted.Response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("refresh_token").GetString()!;
        }
    }

    private readonly RSA _rsaClientKey = RSA.Create(2048);
    private readonly ECDsa _ecClientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public halves of the two client keys, as the demo's Demo:Client:Jwks.</summary>
    private string RegisteredJwks()
    {
        var rsa = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_rsaClientKey.ExportParameters(false)));
        var ec = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(_ecClientKey.ExportParameters(false))));
        return JsonSerializer.Serialize(new
        {
            keys = new object[]
            {
                new { kty = "RSA", use = "sig", n = rsa.N, e = rsa.E },
                new { kty = "EC", use = "sig", crv = ec.Crv, x = ec.X, y = ec.Y },
            },
        });
    }

    /// <summary>A refresh authenticated by the gateway's own client authentication (private_key_jwt with this key).</summary>
    private async Task<AssertedResponse> RefreshWithAssertionAsync(string pem, OpenIdConnectConfiguration configuration, string refreshToken)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new BffOptions
        {
            ClientId = "bff",
            ClientAuthentication = new()
            {
                Method = ClientAuthenticationMethod.PrivateKeyJwt,
                Keys = [new ClientKeySettings { Pem = pem }],
                // What OpenIddict 7 requires, as the update of RFC 7523 does: typ client-authentication+jwt, aud the issuer.
                AssertionHeaderType = ClientAssertionHeaderType.ClientAuthenticationJwt,
                Audience = ClientAssertionAudience.Issuer,
            },
        });
        var authenticator = new ClientAuthenticator(options, new ClientCredentials(options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ClientCredentials>.Instance), TimeProvider.System);
        using var request = new HttpRequestMessage(HttpMethod.Post, configuration.TokenEndpoint)
        {
            Content = Form(("grant_type", "refresh_token"), ("refresh_token", refreshToken)),
        };
        await authenticator.ApplyAsync(request, configuration, CancellationToken.None);
        var assertion = System.Web.HttpUtility.ParseQueryString(await request.Content!.ReadAsStringAsync())["client_assertion"]!;
        return new AssertedResponse(await _http.SendAsync(request), assertion);
    }

    private sealed record AssertedResponse(HttpResponseMessage Response, string Assertion) : IDisposable
    {
        public void Dispose() => Response.Dispose();
    }

    [Fact]
    public async Task Max_age_and_prompt_login_make_a_signed_in_user_authenticate_again_and_the_id_token_says_when_and_how()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokens = await SignInAsync();

        var idToken = JsonDocument.Parse(Base64UrlEncoder.Decode(tokens.IdToken.Split('.')[1])).RootElement;
        Assert.InRange(idToken.GetProperty("auth_time").GetInt64(), before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("pwd", idToken.GetProperty("acr").GetString());

        // Signed in at the provider and consented: a recent enough sign-in goes straight back with a code...
        using var recent = await _http.GetAsync("/connect/authorize?" + AuthorizeQuery(AnyChallenge, ("max_age", "3600")));
        Assert.StartsWith(RedirectUri, recent.Headers.Location!.AbsoluteUri, StringComparison.Ordinal);

        // ... while max_age=0 and prompt=login ask for the password again, and the login page returns to a request
        // that will not ask a second time.
        foreach (var extra in new[] { ("max_age", "0"), ("prompt", "login") })
        {
            using var again = await _http.GetAsync("/connect/authorize?" + AuthorizeQuery(AnyChallenge, extra));
            Assert.Equal("/account/login", again.Headers.Location!.AbsolutePath);
            var returnUrl = HttpUtility.ParseQueryString(again.Headers.Location.Query)["returnUrl"]!;
            Assert.DoesNotContain(extra.Item1 + "=", returnUrl, StringComparison.Ordinal);
        }
    }

    private static readonly string AnyChallenge = Base64UrlEncoder.Encode(SHA256.HashData("any verifier"u8));

    private static string AuthorizeQuery(string challenge, params (string Name, string Value)[] extra) =>
        DemoAuthorization.Query(RedirectUri, challenge, extra);

    private async Task<(string AccessToken, string RefreshToken, string IdToken)> SignInAsync()
    {
        var (code, verifier) = await DemoAuthorization.GetCodeAsync(_http, RedirectUri);
        using var token = await _http.PostAsync("/connect/token", Form(
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri), ("code_verifier", verifier),
            ("client_id", "bff"), ("client_secret", _secret)));
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        var json = await token.Content.ReadFromJsonAsync<JsonElement>();
        return (json.GetProperty("access_token").GetString()!, json.GetProperty("refresh_token").GetString()!, json.GetProperty("id_token").GetString()!);
    }

    private Task<HttpResponseMessage> RefreshAsync(string refreshToken) =>
        _http.PostAsync("/connect/token", Form(
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", "bff"), ("client_secret", _secret)));

    private async Task<ProviderStats> StatsAsync() => (await _http.GetFromJsonAsync<ProviderStats>("/demo/stats"))!;

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) => DemoAuthorization.Form(fields);
}
