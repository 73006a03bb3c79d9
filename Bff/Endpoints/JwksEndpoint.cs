using System.Text.Json.Nodes;
using Bff.Configuration;
using Bff.Errors;
using Bff.Provider;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Endpoints;

/// <summary>
/// <c>GET /bff/jwks</c>: the public parts of the client's signing keys (<c>Bff:ClientAuthentication:Keys</c>), for
/// providers that fetch a client's keys by URL. Only when <c>Bff:ClientAuthentication:PublishJwks</c> is true; 404
/// otherwise. Public by nature, so cacheable, but briefly: a key added for rotation should be seen within minutes.
/// </summary>
internal static class JwksEndpoint
{
    public const string Path = "/bff/jwks";

    /// <summary>How long a provider or a cache in between may keep the key set.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> HandleAsync(
        HttpContext context, IOptions<BffOptions> options, ClientCredentials credentials, ProviderMetadata metadata)
    {
        if (!options.Value.ClientAuthentication.PublishJwks)
        {
            return BffProblem.Result(BffError.NotFound);
        }

        // Each key's alg is the one it signs with for this provider; while the provider's metadata is unavailable, the
        // key type's default (RS256, ES256).
        var provider = await metadata.GetAsync(context.RequestAborted);
        var keys = new JsonArray();
        foreach (var key in credentials.Keys)
        {
            keys.Add(PublicJwk(key, ClientAuthenticator.AlgorithmFor(key, provider.Configuration) ?? key.DefaultAlgorithm));
        }

        context.Response.Headers.CacheControl = $"public, max-age={(int)MaxAge.TotalSeconds}";
        return TypedResults.Content(new JsonObject { ["keys"] = keys }.ToJsonString(), "application/jwk-set+json");
    }

    /// <summary>Only public members: the converter is given a key built from public parameters alone.</summary>
    private static JsonObject PublicJwk(ClientSigningKey key, string algorithm)
    {
        var jwk = new JsonObject { ["kid"] = key.KeyId, ["use"] = "sig", ["alg"] = algorithm };
        switch (key.Key)
        {
            case RsaSecurityKey rsa:
                var rsaPublic = rsa.Rsa.ExportParameters(false);
                jwk["kty"] = "RSA";
                jwk["n"] = Base64UrlEncoder.Encode(rsaPublic.Modulus);
                jwk["e"] = Base64UrlEncoder.Encode(rsaPublic.Exponent);
                break;
            case ECDsaSecurityKey ec:
                var ecPublic = ec.ECDsa.ExportParameters(false);
                jwk["kty"] = "EC";
                jwk["crv"] = "P-256";
                jwk["x"] = Base64UrlEncoder.Encode(ecPublic.Q.X);
                jwk["y"] = Base64UrlEncoder.Encode(ecPublic.Q.Y);
                break;
        }

        return jwk;
    }
}
