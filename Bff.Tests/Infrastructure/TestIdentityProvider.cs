using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// A stub OpenID provider on loopback (WireMock.Net): discovery, JWKS with a real RSA key, token, revocation,
/// end-session and optional PAR. Codes are issued by the test for a nonce it read from the authorize redirect;
/// the token endpoint answers with an ID token signed by the provider's key (or a deliberately broken one).
/// </summary>
public sealed class TestIdentityProvider : IDisposable
{
    public const string ClientId = "bff-tests";
    public const string ClientSecret = "test-secret-value-9f8e7d";

    private readonly WireMockServer _server;
    private readonly ConcurrentDictionary<string, IssuedCode> _codes = new();
    private readonly ConcurrentQueue<string> _revokedTokens = new();
    private readonly ConcurrentDictionary<string, List<KeyValuePair<string, string>>> _pushedRequests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> _authorizedResources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> _grantResources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _accessTokenResources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _transientFailures = new(StringComparer.Ordinal);
    private int _tokenRequests;
    private int _refreshRequests;
    private int _codeCounter;

    public TestIdentityProvider(bool advertisePar = false, string? issuerOverride = null)
    {
        _server = WireMockServer.Start();
        Authority = _server.Url!;
        Issuer = issuerOverride ?? Authority;
        SigningKey = NewKey("key-1");
        AdvertisePar = advertisePar;
        MapEndpoints();
    }

    public string Authority { get; }

    public string Issuer { get; }

    public bool AdvertisePar { get; }

    public RsaSecurityKey SigningKey { get; private set; }

    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    public int RefreshRequests => Volatile.Read(ref _refreshRequests);

    public IReadOnlyCollection<string> RevokedTokens => _revokedTokens.ToArray();

    /// <summary>What the userinfo endpoint answers; null: the provider has none (not in discovery).</summary>
    public JsonObject? UserInfo { get; set; }

    /// <summary>The <c>scope</c> of code and refresh token responses; null: none (granted as requested).</summary>
    public string? GrantedScope { get; set; }

    /// <summary>Lifetime of issued access tokens (expires_in).</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Replaces how the token endpoint answers a refresh_token grant (null: issue new tokens, rotating the refresh token).</summary>
    public Func<IRequestMessage, IResponseMessage?>? RefreshBehavior { get; set; }

    /// <summary>Replaces how the PAR endpoint answers (null: 201 with a new request_uri).</summary>
    public Func<IRequestMessage, IResponseMessage?>? PushedAuthorizationBehavior { get; set; }

    /// <summary>
    /// Checks the client's authentication on the token, PAR and revocation endpoints: a response refuses the request
    /// (for example 401 invalid_client), null accepts it. Null: any request naming a client is accepted.
    /// </summary>
    public Func<IRequestMessage, IResponseMessage?>? ClientAuthenticationCheck { get; set; }

    /// <summary>Replaces how the token endpoint answers a client_credentials grant (null: issue a token).</summary>
    public Func<IRequestMessage, IResponseMessage?>? ClientCredentialsBehavior { get; set; }

    /// <summary>
    /// While true every endpoint answers 503, as a provider that is down behind its load balancer. (Stopping the
    /// server instead would free its port for another test's stub to take.)
    /// </summary>
    public bool Down { get; set; }

    /// <summary>
    /// The next <paramref name="count"/> requests to <paramref name="path"/> (<c>/.well-known/openid-configuration</c>,
    /// <c>/jwks</c>, <c>/token</c>, <c>/revoke</c>, <c>/userinfo</c>) are answered 503, as by a provider restarting behind its load balancer.
    /// </summary>
    public void FailNext(string path, int count) => _transientFailures[path] = count;

    /// <summary>Status code the revocation endpoint answers with.</summary>
    public int RevocationStatus { get; set; } = 200;

    public WireMockServer Server => _server;

    /// <summary>
    /// As RFC 8707 lets a provider (and OpenIddict-based or enterprise providers do): a refresh with <c>resource=X</c> is
    /// answered <c>400 invalid_target</c> unless X was named in the authorization request (query or pushed) of the grant
    /// the refresh token belongs to. Off: any resource is granted at refresh.
    /// </summary>
    public bool ResourcesOnlyFromAuthorizationRequest { get; set; }

    /// <summary>Discovery fields left out, as providers that have no such endpoint publish (e.g. <c>revocation_endpoint</c>).</summary>
    public ISet<string> OmittedDiscoveryFields { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Discovery fields added (or replaced), e.g. <c>prompt_values_supported</c>.</summary>
    public JsonObject ExtraDiscoveryFields { get; } = new();

    /// <summary>Registers a code that the token endpoint will redeem for tokens bound to <paramref name="nonce"/>.</summary>
    public string IssueCode(string nonce, string subject = "alice", IDictionary<string, object>? extraClaims = null, Action<IdTokenShape>? shape = null)
    {
        var code = "code-" + Interlocked.Increment(ref _codeCounter) + "-" + Guid.NewGuid().ToString("N");
        var idToken = new IdTokenShape { Nonce = nonce, Subject = subject, Claims = extraClaims ?? new Dictionary<string, object>() };
        shape?.Invoke(idToken);
        _codes[code] = new IssuedCode(idToken, _authorizedResources.TryGetValue(nonce, out var resources) ? resources : []);
        return code;
    }

    /// <summary>
    /// The browser arrives at the authorization endpoint with <paramref name="location"/> (the gateway's redirect):
    /// remembers the resources it names, or, with a <c>request_uri</c>, the ones its pushed request named, for the code
    /// later issued for its nonce. Returns every parameter of the authorization request, repeated ones included.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ReceiveAuthorization(Uri location)
    {
        var query = Pairs(location.Query.TrimStart('?'));
        var requestUri = query.FirstOrDefault(p => p.Key == "request_uri").Value;
        var parameters = requestUri is not null && _pushedRequests.TryGetValue(requestUri, out var pushed) ? pushed : query;
        var nonce = parameters.FirstOrDefault(p => p.Key == "nonce").Value;
        if (nonce is not null)
        {
            _authorizedResources[nonce] = [.. parameters.Where(p => p.Key == "resource").Select(p => p.Value)];
        }

        return parameters;
    }

    /// <summary>The resource an access token was issued for at refresh (null: the sign-in's own token, or unknown).</summary>
    public string? ResourceOf(string accessToken) => _accessTokenResources.GetValueOrDefault(accessToken);

    public string NewAccessToken(string subject) => "at." + subject + "." + Guid.NewGuid().ToString("N");

    public string NewRefreshToken(string subject) => "rt." + subject + "." + Guid.NewGuid().ToString("N");

    /// <summary>Makes a new signing key current (the old one stays out of the JWKS).</summary>
    public void RotateSigningKey(string kid) => SigningKey = NewKey(kid);

    public IEnumerable<IRequestMessage> RequestsTo(string path) =>
        _server.LogEntries.Select(e => e.RequestMessage).Where(r => r.Path == path);

    /// <summary>The client secret a request carried, in an HTTP Basic header (client_secret_basic) or its body (client_secret_post).</summary>
    public static string? ClientSecretOf(IRequestMessage request)
    {
        if (request.Headers?.TryGetValue("Authorization", out var values) == true
            && values.FirstOrDefault() is { } header && header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            return Uri.UnescapeDataString(pair[(pair.IndexOf(':', StringComparison.Ordinal) + 1)..].Replace('+', ' '));
        }

        return Form(request).GetValueOrDefault("client_secret");
    }

    public string CreateIdToken(IdTokenShape shape)
    {
        var now = DateTimeOffset.UtcNow + shape.ClockOffset;
        var claims = new Dictionary<string, object>(shape.Claims);
        if (shape.Subject is not null) claims["sub"] = shape.Subject;
        if (shape.Nonce is not null) claims["nonce"] = shape.Nonce;
        if (shape.IncludeIssuedAt) claims["iat"] = now.ToUnixTimeSeconds();
        claims["name"] = claims.TryGetValue("name", out var name) ? name : "Alice Example";
        claims["sid"] = shape.ProviderSessionId;

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = shape.Issuer ?? Issuer,
            Audience = shape.Audience ?? ClientId,
            Claims = claims,
            IssuedAt = shape.IncludeIssuedAt ? now.UtcDateTime : null,
            NotBefore = now.AddMinutes(-1).UtcDateTime,
            Expires = (now + shape.Lifetime).UtcDateTime,
        };

        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        if (shape.WithoutSignature)
        {
            return handler.CreateToken(descriptor).TrimEnd('.') + "."; // header.payload. with alg none
        }

        var key = shape.SigningKeyOverride ?? SigningKey;
        descriptor.SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256);
        return handler.CreateToken(descriptor);
    }

    /// <summary>
    /// A valid back-channel logout token, as the provider posts it when a user's provider session ends: signed with the
    /// current key, naming the subject and/or the provider session (<c>sid</c>).
    /// </summary>
    public string CreateLogoutToken(string? subject, string? providerSessionId)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = ClientId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(2).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new Dictionary<string, object>() },
        };
        if (subject is not null)
        {
            claims["sub"] = subject;
        }

        if (providerSessionId is not null)
        {
            claims["sid"] = providerSessionId;
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            TokenType = "logout+jwt",
            SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>
    /// A valid logout token whose header carries <paramref name="typ"/>, or no <c>typ</c> at all when it is null (the
    /// token handler always writes one, so the header is built by hand).
    /// </summary>
    public string CreateLogoutTokenWithType(string? subject, string? providerSessionId, string? typ)
    {
        var payload = new JsonWebToken(CreateLogoutToken(subject, providerSessionId)).EncodedPayload;
        var header = new JsonObject { ["alg"] = "RS256", ["kid"] = SigningKey.KeyId };
        if (typ is not null)
        {
            header["typ"] = typ;
        }

        var signingInput = Base64UrlEncoder.Encode(header.ToJsonString()) + "." + payload;
        var signature = SigningKey.Rsa.SignData(System.Text.Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    public void Dispose() => _server.Stop();

    private static RsaSecurityKey NewKey(string kid) => new(RSA.Create(2048)) { KeyId = kid };

    private void MapEndpoints()
    {
        _server.Given(Request.Create().WithPath("/.well-known/openid-configuration").UsingGet())
            .RespondWith(Response.Create().WithCallback(_ => Down || TakeFailure("/.well-known/openid-configuration") ? Unavailable() : Json(200, Discovery())));

        _server.Given(Request.Create().WithPath("/jwks").UsingGet())
            .RespondWith(Response.Create().WithCallback(_ => Down || TakeFailure("/jwks") ? Unavailable() : Json(200, Jwks())));

        _server.Given(Request.Create().WithPath("/token").UsingPost())
            .RespondWith(Response.Create().WithCallback(request => Down || TakeFailure("/token") ? Unavailable() : TokenEndpoint(request)));

        _server.Given(Request.Create().WithPath("/revoke").UsingPost())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                if (Down || TakeFailure("/revoke"))
                {
                    return Unavailable();
                }

                if (ClientAuthenticationCheck?.Invoke(request) is { } refused)
                {
                    return refused;
                }

                var form = Form(request);
                if (form.TryGetValue("token", out var token))
                {
                    _revokedTokens.Enqueue(token);
                }

                return new ResponseMessage { StatusCode = RevocationStatus };
            }));

        _server.Given(Request.Create().WithPath("/userinfo"))
            .RespondWith(Response.Create().WithCallback(request => UserInfo is not { } info
                ? new ResponseMessage { StatusCode = 404 }
                : Down || TakeFailure("/userinfo") ? Unavailable()
                : UserInfoBehavior?.Invoke(request) ?? RefuseUserInfoCredentials(request)
                    ?? (UserInfoAsJwt is { } sign ? SignedUserInfo(sign(info)) : Json(200, info.DeepClone()))));

        _server.Given(Request.Create().WithPath("/par").UsingPost())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                if (ClientAuthenticationCheck?.Invoke(request) is { } refused)
                {
                    return refused;
                }

                if (PushedAuthorizationBehavior?.Invoke(request) is { } custom)
                {
                    return custom;
                }

                var requestUri = "urn:ietf:params:oauth:request_uri:" + Guid.NewGuid().ToString("N");
                _pushedRequests[requestUri] = Pairs(request.Body);
                return Json(201, new JsonObject { ["request_uri"] = requestUri, ["expires_in"] = 60 });
            }));
    }

    private JsonObject Discovery()
    {
        var doc = new JsonObject
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = Authority + "/authorize",
            ["token_endpoint"] = Authority + "/token",
            ["jwks_uri"] = Authority + "/jwks",
            ["end_session_endpoint"] = Authority + "/endsession",
            ["revocation_endpoint"] = Authority + "/revoke",
            ["response_types_supported"] = new JsonArray("code"),
            ["subject_types_supported"] = new JsonArray("public"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            ["code_challenge_methods_supported"] = new JsonArray("S256"),
            ["backchannel_logout_supported"] = true,
        };
        if (UserInfo is not null)
        {
            doc["userinfo_endpoint"] = Authority + "/userinfo";
        }

        if (AdvertisePar)
        {
            doc["pushed_authorization_request_endpoint"] = Authority + "/par";
        }

        foreach (var field in OmittedDiscoveryFields)
        {
            doc.Remove(field);
        }

        foreach (var (name, value) in ExtraDiscoveryFields)
        {
            doc[name] = value?.DeepClone();
        }

        return doc;
    }

    private JsonObject Jwks()
    {
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(SigningKey);
        return new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["alg"] = "RS256",
                ["kid"] = jwk.Kid,
                ["n"] = jwk.N,
                ["e"] = jwk.E,
            }),
        };
    }

    /// <summary>
    /// DPoP (RFC 9449): when set, a token request must carry a proof with this nonce; one without it (or with another)
    /// is answered <c>400 use_dpop_nonce</c> with a <c>DPoP-Nonce</c> header, and the grant is not consumed.
    /// </summary>
    public string? DPoPNonce { get; set; }

    /// <summary>Every DPoP proof the token endpoint received (null for a request without one), with its grant type.</summary>
    public IReadOnlyList<(string? Grant, string? Proof)> DPoPProofs => _dpopProofs.ToArray();

    private readonly ConcurrentQueue<(string? Grant, string? Proof)> _dpopProofs = new();
    private readonly ConcurrentDictionary<string, string> _boundAccessTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _userInfoProofIds = new(StringComparer.Ordinal);

    /// <summary>
    /// While false, a token request with a DPoP proof is answered with a bearer token (<c>token_type=Bearer</c>), as by a
    /// provider, or a client registration, that does not bind tokens.
    /// </summary>
    public bool BindsDPoPTokens { get; set; } = true;

    /// <summary>When set, userinfo wants this nonce in the proof that comes with a DPoP-bound token (RFC 9449 §9).</summary>
    public string? UserInfoDPoPNonce { get; set; }

    /// <summary>Replaces how the userinfo endpoint answers (null: check the caller's token and proof, then answer <see cref="UserInfo"/>).</summary>
    public Func<IRequestMessage, IResponseMessage?>? UserInfoBehavior { get; set; }

    /// <summary>
    /// When set, userinfo answers <c>application/jwt</c> (a client registered with <c>userinfo_signed_response_alg</c>,
    /// OpenID Connect Core 5.3.2): this function's token made of <see cref="UserInfo"/>, after the caller's token and proof are checked.
    /// </summary>
    public Func<JsonObject, string>? UserInfoAsJwt { get; set; }

    /// <summary>
    /// A signed userinfo answer of <paramref name="claims"/>: with the provider's key and RS256 unless told otherwise,
    /// <c>iss</c> the provider and <c>aud</c> this client unless <paramref name="issuer"/> / <paramref name="audience"/>
    /// say otherwise (an empty string leaves the claim out).
    /// </summary>
    public string SignUserInfo(JsonObject claims, SecurityKey? key = null, string algorithm = SecurityAlgorithms.RsaSha256, string? issuer = null, string? audience = null)
    {
        var payload = claims.DeepClone().AsObject();
        if ((issuer ?? Issuer) is { Length: > 0 } iss)
        {
            payload["iss"] = iss;
        }

        if ((audience ?? ClientId) is { Length: > 0 } aud)
        {
            payload["aud"] = aud;
        }

        var signingKey = key ?? SigningKey;
        var header = new JsonObject { ["alg"] = algorithm, ["typ"] = "JWT" };
        if (signingKey.KeyId is { } kid)
        {
            header["kid"] = kid;
        }

        var signingInput = Base64UrlEncoder.Encode(header.ToJsonString()) + "." + Base64UrlEncoder.Encode(payload.ToJsonString());
        var signature = new AsymmetricSignatureProvider(signingKey, algorithm, willCreateSignatures: true)
            .Sign(System.Text.Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    /// <summary>The thumbprint of the key an access token was bound to (its <c>cnf.jkt</c>); null for a bearer token.</summary>
    public string? BoundKeyOf(string accessToken) => _boundAccessTokens.GetValueOrDefault(accessToken);

    private IResponseMessage TokenEndpoint(IRequestMessage request)
    {
        var proof = request.Headers?.FirstOrDefault(h => string.Equals(h.Key, "DPoP", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        _dpopProofs.Enqueue((Form(request).GetValueOrDefault("grant_type"), proof));
        DPoPProofClaims? claims = null;
        if (proof is not null)
        {
            claims = DPoPProofReader.Read(proof);
            if (claims is null || claims.Typ != "dpop+jwt" || claims.Htm != "POST" || claims.Htu != Authority + "/token" || claims.Ath is not null)
            {
                return Json(400, new JsonObject { ["error"] = "invalid_dpop_proof" });
            }
        }

        if (DPoPNonce is { } nonce && claims is not null && claims.Nonce != nonce)
        {
            var challenge = Json(400, new JsonObject { ["error"] = "use_dpop_nonce", ["error_description"] = "Authorization server requires nonce in DPoP proof" });
            challenge.Headers!["DPoP-Nonce"] = new WireMockList<string>(nonce);
            return challenge;
        }

        var response = TokenEndpointWithoutDPoP(request);
        if (claims is null || !BindsDPoPTokens || response.StatusCode is not 200 || response.BodyData?.BodyAsString is not { } text)
        {
            return response;
        }

        var body = JsonNode.Parse(text)!.AsObject();
        body["token_type"] = "DPoP";
        _boundAccessTokens[body["access_token"]!.GetValue<string>()] = claims.Thumbprint;
        return Json(200, body);
    }

    /// <summary>
    /// Userinfo as a provider that enforces DPoP binding checks its caller (RFC 9449 §7): a token bound to a key comes as
    /// <c>Authorization: DPoP</c> with a proof of exactly this request (<c>htm</c>, <c>htu</c> without query, <c>ath</c>
    /// of the token, a <c>jti</c> not seen before, <c>UserInfoDPoPNonce</c> when set) signed by that key; any other token
    /// comes as <c>Bearer</c>. A refusal is a 401 with a <c>WWW-Authenticate</c> challenge; null accepts.
    /// </summary>
    private ResponseMessage? RefuseUserInfoCredentials(IRequestMessage request)
    {
        var authorization = HeaderValue(request, "Authorization");
        var space = authorization?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space <= 0)
        {
            return Challenge("Bearer", "invalid_token");
        }

        var scheme = authorization![..space];
        var token = authorization[(space + 1)..];
        if (BoundKeyOf(token) is not { } boundKey)
        {
            return scheme == "Bearer" ? null : Challenge("Bearer", "invalid_token");
        }

        if (!string.Equals(scheme, "DPoP", StringComparison.OrdinalIgnoreCase))
        {
            return Challenge("DPoP", "invalid_token"); // a bound token presented as a bearer token
        }

        var proof = DPoPProofReader.Read(HeaderValue(request, "DPoP"));
        if (proof is null || proof.Typ != "dpop+jwt" || proof.Htm != request.Method || proof.Htu != Authority + "/userinfo"
            || proof.Ath != DPoPProofReader.AccessTokenHash(token) || proof.Thumbprint != boundKey || !_userInfoProofIds.TryAdd(proof.Jti, 0))
        {
            return Challenge("DPoP", "invalid_dpop_proof");
        }

        if (UserInfoDPoPNonce is { } nonce && proof.Nonce != nonce)
        {
            var challenge = Challenge("DPoP", "use_dpop_nonce");
            challenge.Headers!["DPoP-Nonce"] = new WireMockList<string>(nonce);
            return challenge;
        }

        return null;
    }

    private static ResponseMessage Challenge(string scheme, string error) => new()
    {
        StatusCode = 401,
        Headers = new Dictionary<string, WireMockList<string>> { ["WWW-Authenticate"] = new WireMockList<string>($"{scheme} error=\"{error}\"") },
    };

    private static string? HeaderValue(IRequestMessage request, string name) =>
        request.Headers?.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();

    private IResponseMessage TokenEndpointWithoutDPoP(IRequestMessage request)
    {
        Interlocked.Increment(ref _tokenRequests);
        var form = Form(request);
        if (!form.TryGetValue("client_id", out var clientId) && request.Headers?.ContainsKey("Authorization") != true)
        {
            return Json(401, new JsonObject { ["error"] = "invalid_client" });
        }

        _ = clientId;
        if (ClientAuthenticationCheck?.Invoke(request) is { } refused)
        {
            return refused;
        }

        var grant = form.GetValueOrDefault("grant_type");
        if (grant == "authorization_code")
        {
            var code = form.GetValueOrDefault("code") ?? string.Empty;
            if (!_codes.TryRemove(code, out var issued) || string.IsNullOrEmpty(form.GetValueOrDefault("code_verifier")))
            {
                return Json(400, new JsonObject { ["error"] = "invalid_grant" });
            }

            var subject = issued.Shape.Subject ?? "anonymous";
            var refreshToken = NewRefreshToken(subject);
            _grantResources[refreshToken] = issued.Resources;
            return Json(200, new JsonObject
            {
                ["access_token"] = NewAccessToken(subject),
                ["token_type"] = "Bearer",
                ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
                ["refresh_token"] = refreshToken,
                ["id_token"] = CreateIdToken(issued.Shape),
            }.WithScope(GrantedScope));
        }

        if (grant == "refresh_token")
        {
            Interlocked.Increment(ref _refreshRequests);
            if (RefreshBehavior?.Invoke(request) is { } custom)
            {
                return custom;
            }

            var presented = form.GetValueOrDefault("refresh_token") ?? "rt.unknown.x";
            var subject = presented.Split('.')[1];
            var granted = _grantResources.GetValueOrDefault(presented) ?? [];
            var requested = Pairs(request.Body).Where(p => p.Key == "resource").Select(p => p.Value).ToList();
            if (ResourcesOnlyFromAuthorizationRequest && requested.Any(r => !granted.Contains(r, StringComparer.Ordinal)))
            {
                return Json(400, new JsonObject { ["error"] = "invalid_target", ["error_description"] = "The resource was not requested in the authorization request." });
            }

            var accessToken = NewAccessToken(subject);
            if (requested.Count > 0)
            {
                _accessTokenResources[accessToken] = string.Join(' ', requested);
            }

            var rotated = NewRefreshToken(subject);
            _grantResources[rotated] = granted;
            return Json(200, new JsonObject
            {
                ["access_token"] = accessToken,
                ["token_type"] = "Bearer",
                ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
                ["refresh_token"] = rotated,
            }.WithScope(GrantedScope));
        }

        if (grant == "client_credentials")
        {
            if (ClientCredentialsBehavior?.Invoke(request) is { } custom)
            {
                return custom;
            }

            return Json(200, new JsonObject
            {
                ["access_token"] = "cc." + Guid.NewGuid().ToString("N"),
                ["token_type"] = "Bearer",
                ["expires_in"] = (int)AccessTokenLifetime.TotalSeconds,
            });
        }

        return Json(400, new JsonObject { ["error"] = "unsupported_grant_type" });
    }

    public static Dictionary<string, string> Form(IRequestMessage request)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in Pairs(request.Body))
        {
            result[name] = value;
        }

        return result;
    }

    /// <summary>Every name=value pair of a form body or query, in order, repeated names included (RFC 8707's <c>resource</c>).</summary>
    public static List<KeyValuePair<string, string>> Pairs(string? encoded)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in (encoded ?? string.Empty).Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            result.Add(new(Uri.UnescapeDataString(parts[0].Replace('+', ' ')), parts.Length > 1 ? Uri.UnescapeDataString(parts[1].Replace('+', ' ')) : string.Empty));
        }

        return result;
    }

    private static ResponseMessage Unavailable() => new() { StatusCode = 503 };

    private bool TakeFailure(string path)
    {
        while (_transientFailures.TryGetValue(path, out var left) && left > 0)
        {
            if (_transientFailures.TryUpdate(path, left - 1, left))
            {
                return true;
            }
        }

        return false;
    }

    public static ResponseMessage Json(int status, JsonNode body) => new()
    {
        StatusCode = status,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new WireMockList<string>("application/json") },
        BodyData = new BodyData { BodyAsString = body.ToJsonString(), DetectedBodyType = BodyType.String },
    };

    private static ResponseMessage SignedUserInfo(string jwt) => new()
    {
        StatusCode = 200,
        Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new WireMockList<string>("application/jwt") },
        BodyData = new BodyData { BodyAsString = jwt, DetectedBodyType = BodyType.String },
    };

    private sealed record IssuedCode(IdTokenShape Shape, string[] Resources);
}

internal static class TokenResponseScope
{
    /// <summary>Adds <c>scope</c> only when there is one: providers that grant what was asked leave it out.</summary>
    public static JsonObject WithScope(this JsonObject response, string? scope)
    {
        if (scope is not null)
        {
            response["scope"] = scope;
        }

        return response;
    }
}

/// <summary>What the ID token for a code looks like; tests bend one property to make it invalid.</summary>
public sealed class IdTokenShape
{
    public string? Nonce { get; set; }
    public string? Subject { get; set; }
    public string? Issuer { get; set; }
    public string? Audience { get; set; }
    public string ProviderSessionId { get; set; } = "sid-" + Guid.NewGuid().ToString("N")[..12];
    public bool IncludeIssuedAt { get; set; } = true;
    public bool WithoutSignature { get; set; }
    public SecurityKey? SigningKeyOverride { get; set; }
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(10);
    public TimeSpan ClockOffset { get; set; } = TimeSpan.Zero;
    public IDictionary<string, object> Claims { get; set; } = new Dictionary<string, object>();
}
