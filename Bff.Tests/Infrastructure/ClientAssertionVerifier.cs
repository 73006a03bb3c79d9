using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using WireMock;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// The provider's side of private_key_jwt (RFC 7523, OpenID Connect Core section 9), for <see cref="TestIdentityProvider.ClientAuthenticationCheck"/>:
/// a request must carry a client assertion of type jwt-bearer, signed by one of the client's registered public keys,
/// with iss = sub = the client id, the expected audience, an exp within five minutes, and a jti never seen before;
/// anything else is 401 invalid_client. No client secret may ride along.
/// </summary>
public sealed class ClientAssertionVerifier(TestIdentityProvider idp, IEnumerable<SecurityKey> clientKeys, string? audience = null)
{
    private readonly ConcurrentDictionary<string, byte> _seenJti = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<JsonWebToken> _accepted = new();
    private readonly List<SecurityKey> _keys = [.. clientKeys];

    /// <summary>The assertions accepted, in order.</summary>
    public IReadOnlyList<JsonWebToken> Accepted => [.. _accepted];

    /// <summary>How many requests were refused.</summary>
    public int Refused { get; private set; }

    public string ExpectedAudience => audience ?? idp.Authority + "/token";

    public IResponseMessage? Check(IRequestMessage request)
    {
        var form = TestIdentityProvider.Form(request);
        if (form.ContainsKey("client_secret") || request.Headers?.ContainsKey("Authorization") == true
            || form.GetValueOrDefault("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            || form.GetValueOrDefault("client_assertion") is not { } assertion)
        {
            return Refuse("no client assertion");
        }

        var result = new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKeys = _keys,
            ValidIssuer = TestIdentityProvider.ClientId,
            ValidAudience = ExpectedAudience,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidAlgorithms = ["RS256", "PS256", "ES256"],
            ClockSkew = TimeSpan.FromMinutes(1),
        }).GetAwaiter().GetResult();
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token)
        {
            return Refuse("invalid assertion");
        }

        if (token.Subject != TestIdentityProvider.ClientId
            || form.GetValueOrDefault("client_id") is { } clientId && clientId != TestIdentityProvider.ClientId
            || token.ValidTo - token.IssuedAt > TimeSpan.FromMinutes(5)
            || string.IsNullOrEmpty(token.Id) || !_seenJti.TryAdd(token.Id, 0))
        {
            return Refuse("replayed or malformed assertion");
        }

        _accepted.Enqueue(token);
        return null;
    }


    private ResponseMessage Refuse(string description)
    {
        Refused++;
        return TestIdentityProvider.Json(401, new JsonObject { ["error"] = "invalid_client", ["error_description"] = description });
    }
}
