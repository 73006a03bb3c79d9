using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Bff.Configuration;
using Bff.DPoP;
using Bff.Tests.Browser;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Demo;

/// <summary>
/// The demo provider and the demo API speak DPoP (RFC 9449) as the providers and APIs the gateway meets do, so that
/// run-demo.sh and the browser tests show the gateway's DPoP against an independent implementation: both ask for
/// nonces, the provider binds tokens to the proof's key, and the API checks every proof (signature, htm, htu, ath,
/// jti replay, nonce, key). Proofs here are the gateway's own (<see cref="DPoPProof"/>).
/// </summary>
public sealed class DemoDPoPTests : IAsyncLifetime
{
    private const string RedirectUri = "http://localhost:1/signin-oidc";
    private readonly string _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(20));
    private readonly DPoPKey _key = DPoPKey.Generate(DPoPAlgorithm.ES256, DateTimeOffset.UtcNow);
    private readonly DPoPKey _otherKey = DPoPKey.Generate(DPoPAlgorithm.PS256, DateTimeOffset.UtcNow);
    private DemoProcess _provider = null!;
    private DemoProcess _api = null!;
    private HttpClient _http = null!;
    private HttpClient _apiHttp = null!;
    private Uri _tokenEndpoint = null!;
    private Uri _userInfoEndpoint = null!;
    private Uri _whoAmI = null!;

    public async Task InitializeAsync()
    {
        var providerUrl = $"http://127.0.0.1:{FreePort()}";
        var apiUrl = $"http://127.0.0.1:{FreePort()}";
        var bin = Path.Combine(DemoComposition.RepositoryRoot, "demo");
        var logs = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "demo")).FullName;
        _provider = DemoProcess.Start("provider", Path.Combine(bin, "Bff.Demo.Identity/bin", DemoComposition.BuildConfiguration, "net10.0/Bff.Demo.Identity.dll"),
            ["--urls", providerUrl, $"--Demo:Client:RedirectUris:0={RedirectUri}", "--Demo:DPoP:RequireNonce=true"],
            new Dictionary<string, string> { ["Demo__Client__ClientSecret"] = _secret }, Path.Combine(logs, "dpop-provider.log"));
        _api = DemoProcess.Start("api", Path.Combine(bin, "Bff.Demo.Api/bin", DemoComposition.BuildConfiguration, "net10.0/Bff.Demo.Api.dll"),
            ["--urls", apiUrl, $"--Demo:Authority={providerUrl}/", "--Demo:DPoP:RequireNonce=true"],
            new Dictionary<string, string>(), Path.Combine(logs, "dpop-api.log"));
        await Task.WhenAll(
            _provider.WaitUntilReadyAsync(new Uri(providerUrl + "/.well-known/openid-configuration"), TimeSpan.FromSeconds(60)),
            _api.WaitUntilReadyAsync(new Uri(apiUrl + "/health"), TimeSpan.FromSeconds(60)));
        _http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(providerUrl) };
        _apiHttp = new HttpClient();
        var discovery = await _http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");
        _tokenEndpoint = new Uri(discovery.GetProperty("token_endpoint").GetString()!);
        _userInfoEndpoint = new Uri(discovery.GetProperty("userinfo_endpoint").GetString()!);
        _whoAmI = new Uri(apiUrl + "/api/whoami");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _apiHttp.Dispose();
        await _api.DisposeAsync();
        await _provider.DisposeAsync();
        _key.Dispose();
        _otherKey.Dispose();
    }

    [Fact]
    public async Task A_code_exchange_proved_with_the_requested_key_gets_a_DPoP_bound_token_after_one_nonce_challenge()
    {
        var discovery = await _http.GetFromJsonAsync<JsonElement>("/.well-known/openid-configuration");
        Assert.Contains("ES256", discovery.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()));

        var (code, verifier) = await DemoAuthorization.GetCodeAsync(_http, RedirectUri, ("dpop_jkt", _key.Thumbprint));
        var exchange = CodeExchange(code, verifier);

        using var challenged = await TokenRequestAsync(exchange, DPoPProof.Create(_key, "POST", _tokenEndpoint, DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.BadRequest, challenged.StatusCode);
        Assert.Equal("use_dpop_nonce", await ErrorAsync(challenged));
        var nonce = Assert.Single(challenged.Headers.GetValues("DPoP-Nonce"));

        using var issued = await TokenRequestAsync(exchange, DPoPProof.Create(_key, "POST", _tokenEndpoint, DateTimeOffset.UtcNow, nonce: nonce));
        var tokens = await issued.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(issued.StatusCode == HttpStatusCode.OK, tokens.ToString());
        Assert.Equal("DPoP", tokens.GetProperty("token_type").GetString());
        Assert.Equal(_key.Thumbprint, BoundKey(tokens.GetProperty("access_token").GetString()!));
    }

    [Fact]
    public async Task A_code_asked_for_one_key_is_not_redeemed_without_a_proof_of_it_nor_with_a_proof_of_another()
    {
        var (code, verifier) = await DemoAuthorization.GetCodeAsync(_http, RedirectUri, ("dpop_jkt", _key.Thumbprint));
        var exchange = CodeExchange(code, verifier);
        var nonce = await ProviderNonceAsync();

        using var unproved = await TokenRequestAsync(exchange, proof: null);
        Assert.Equal("invalid_dpop_proof", await ErrorAsync(unproved));

        using var otherKey = await TokenRequestAsync(exchange, DPoPProof.Create(_otherKey, "POST", _tokenEndpoint, DateTimeOffset.UtcNow, nonce: nonce));
        Assert.Equal("invalid_dpop_proof", await ErrorAsync(otherKey));

        using var forgedProof = await TokenRequestAsync(exchange, Tamper(DPoPProof.Create(_key, "POST", _tokenEndpoint, DateTimeOffset.UtcNow, nonce: nonce)));
        Assert.Equal("invalid_dpop_proof", await ErrorAsync(forgedProof));

        using var wrongTarget = await TokenRequestAsync(exchange, DPoPProof.Create(_key, "POST", new Uri(_tokenEndpoint, "/connect/other"), DateTimeOffset.UtcNow, nonce: nonce));
        Assert.Equal("invalid_dpop_proof", await ErrorAsync(wrongTarget));
    }

    [Fact]
    public async Task The_API_accepts_a_bound_token_only_with_a_fresh_proof_of_its_key_for_exactly_that_request()
    {
        var accessToken = (await BoundTokensAsync()).GetProperty("access_token").GetString()!;

        using var asBearer = await CallApiAsync("Bearer", accessToken, proof: null);
        Assert.Equal(HttpStatusCode.Unauthorized, asBearer.StatusCode);
        Assert.StartsWith("DPoP error=\"invalid_token\"", asBearer.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var withoutNonce = await CallApiAsync("DPoP", accessToken, DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken));
        Assert.Equal(HttpStatusCode.Unauthorized, withoutNonce.StatusCode);
        Assert.StartsWith("DPoP error=\"use_dpop_nonce\"", withoutNonce.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var nonce = Assert.Single(withoutNonce.Headers.GetValues("DPoP-Nonce"));

        var proof = DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken, nonce);
        using var proved = await CallApiAsync("DPoP", accessToken, proof);
        var who = await proved.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(proved.StatusCode == HttpStatusCode.OK, who.ToString());
        Assert.Equal("DPoP", who.GetProperty("tokenType").GetString());
        Assert.Equal(_key.Thumbprint, who.GetProperty("boundKeyThumbprint").GetString());

        // Each of these is refused: a replayed proof, and proofs of another method, URI, token, key, nonce or time.
        var refused = new (string Case, string Proof)[]
        {
            ("replayed jti", proof),
            ("htm", DPoPProof.Create(_key, "POST", _whoAmI, DateTimeOffset.UtcNow, accessToken, nonce)),
            ("htu", DPoPProof.Create(_key, "GET", new Uri(_whoAmI, "/api/other"), DateTimeOffset.UtcNow, accessToken, nonce)),
            ("ath", DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken + "x", nonce)),
            ("no ath", DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken: null, nonce)),
            ("key", DPoPProof.Create(_otherKey, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken, nonce)),
            ("signature", Tamper(DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken, nonce))),
            ("iat", DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow.AddMinutes(-10), accessToken, nonce)),
            ("nonce", DPoPProof.Create(_key, "GET", _whoAmI, DateTimeOffset.UtcNow, accessToken, "not-the-nonce")),
        };
        foreach (var (name, bad) in refused)
        {
            using var response = await CallApiAsync("DPoP", accessToken, bad);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode}");
            Assert.StartsWith(name == "nonce" ? "DPoP error=\"use_dpop_nonce\"" : "DPoP error=\"invalid_dpop_proof\"",
                response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_refresh_binds_the_new_token_to_the_key_proved_with_it_and_one_without_a_proof_gets_a_bearer_token()
    {
        var refreshToken = (await BoundTokensAsync()).GetProperty("refresh_token").GetString()!;
        var nonce = await ProviderNonceAsync();

        using var reboundResponse = await TokenRequestAsync(Refresh(refreshToken), DPoPProof.Create(_otherKey, "POST", _tokenEndpoint, DateTimeOffset.UtcNow, nonce: nonce));
        var rebound = await reboundResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(reboundResponse.StatusCode == HttpStatusCode.OK, rebound.ToString());
        Assert.Equal("DPoP", rebound.GetProperty("token_type").GetString());
        Assert.Equal(_otherKey.Thumbprint, BoundKey(rebound.GetProperty("access_token").GetString()!));

        using var bearerResponse = await TokenRequestAsync(Refresh(rebound.GetProperty("refresh_token").GetString()!), proof: null);
        var bearer = await bearerResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Bearer", bearer.GetProperty("token_type").GetString());
        var accessToken = bearer.GetProperty("access_token").GetString()!;
        Assert.Null(BoundKey(accessToken));

        using var call = await CallApiAsync("Bearer", accessToken, proof: null);
        Assert.Equal("Bearer", (await call.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tokenType").GetString());
    }

    [Fact]
    public async Task Userinfo_answers_a_bound_token_only_with_the_DPoP_scheme_and_a_proof_of_its_key()
    {
        var accessToken = (await BoundTokensAsync()).GetProperty("access_token").GetString()!;

        using var asBearer = new HttpRequestMessage(HttpMethod.Get, _userInfoEndpoint) { Headers = { Authorization = new("Bearer", accessToken) } };
        using var refused = await _http.SendAsync(asBearer);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        using var challenge = new HttpRequestMessage(HttpMethod.Get, _userInfoEndpoint) { Headers = { Authorization = new("DPoP", accessToken) } };
        challenge.Headers.Add("DPoP", DPoPProof.Create(_key, "GET", _userInfoEndpoint, DateTimeOffset.UtcNow, accessToken));
        using var challenged = await _http.SendAsync(challenge);
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        var nonce = Assert.Single(challenged.Headers.GetValues("DPoP-Nonce"));

        using var proved = new HttpRequestMessage(HttpMethod.Get, _userInfoEndpoint) { Headers = { Authorization = new("DPoP", accessToken) } };
        proved.Headers.Add("DPoP", DPoPProof.Create(_key, "GET", _userInfoEndpoint, DateTimeOffset.UtcNow, accessToken, nonce));
        using var answered = await _http.SendAsync(proved);
        var claims = await answered.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(answered.StatusCode == HttpStatusCode.OK, claims.ToString());
        Assert.Equal("d7a3c1e0-alice", claims.GetProperty("sub").GetString());
        Assert.Equal(1, (await _http.GetFromJsonAsync<ProviderStats>("/demo/stats"))!.DPoPUserInfoReads);
    }

    private async Task<JsonElement> BoundTokensAsync()
    {
        var (code, verifier) = await DemoAuthorization.GetCodeAsync(_http, RedirectUri, ("dpop_jkt", _key.Thumbprint));
        var nonce = await ProviderNonceAsync();
        using var response = await TokenRequestAsync(CodeExchange(code, verifier), DPoPProof.Create(_key, "POST", _tokenEndpoint, DateTimeOffset.UtcNow, nonce: nonce));
        var tokens = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.OK, tokens.ToString());
        return tokens;
    }

    /// <summary>The provider's current nonce, as its answer to a token request without one says.</summary>
    private async Task<string> ProviderNonceAsync()
    {
        using var response = await TokenRequestAsync(Refresh("not-a-refresh-token"), DPoPProof.Create(_key, "POST", _tokenEndpoint, DateTimeOffset.UtcNow));
        return response.Headers.TryGetValues("DPoP-Nonce", out var values) ? values.Single() : throw new InvalidOperationException($"No DPoP-Nonce: {await response.Content.ReadAsStringAsync()}");
    }

    private (string, string)[] CodeExchange(string code, string verifier) =>
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri), ("code_verifier", verifier), ("client_id", "bff"), ("client_secret", _secret)];

    private (string, string)[] Refresh(string refreshToken) =>
        [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", "bff"), ("client_secret", _secret)];

    private Task<HttpResponseMessage> TokenRequestAsync((string, string)[] form, string? proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _tokenEndpoint) { Content = DemoAuthorization.Form(form) };
        if (proof is not null)
        {
            request.Headers.Add("DPoP", proof);
        }

        return _http.SendAsync(request);
    }

    private Task<HttpResponseMessage> CallApiAsync(string scheme, string accessToken, string? proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _whoAmI) { Headers = { Authorization = new AuthenticationHeaderValue(scheme, accessToken) } };
        if (proof is not null)
        {
            request.Headers.Add("DPoP", proof);
        }

        return _apiHttp.SendAsync(request);
    }

    private static async Task<string?> ErrorAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();

    /// <summary>The access token's <c>cnf.jkt</c>, or null when it is not bound.</summary>
    private static string? BoundKey(string accessToken)
    {
        var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(accessToken.Split('.')[1])).RootElement;
        return payload.TryGetProperty("cnf", out var cnf) ? cnf.GetProperty("jkt").GetString() : null;
    }

    /// <summary>The same proof with one claim changed after signing: its signature no longer verifies.</summary>
    private static string Tamper(string proof)
    {
        var parts = proof.Split('.');
        var payload = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Base64UrlEncoder.Decode(parts[1]))!;
        payload["jti"] = JsonSerializer.SerializeToElement("tampered-" + Guid.NewGuid());
        return $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(payload))}.{parts[2]}";
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
