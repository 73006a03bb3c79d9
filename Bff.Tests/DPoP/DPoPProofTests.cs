using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bff.Configuration;
using Bff.DPoP;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.DPoP;

/// <summary>The proof builder against the deterministic parts of RFC 9449 and RFC 7638, and what a server checks.</summary>
public sealed class DPoPProofTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_562_262_616);

    [Fact]
    public void The_access_token_hash_is_the_one_of_RFC_9449s_example()
    {
        // RFC 9449 §7.1: the access token of the example and the ath of its proof.
        Assert.Equal("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo", DPoPProof.AccessTokenHash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"));
    }

    [Fact]
    public void The_thumbprint_of_RFC_9449s_example_key_is_its_jkt()
    {
        // RFC 9449 §4.1's example key; §6.1 binds tokens to it with this cnf.jkt.
        using var ec = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint
            {
                X = Base64Url.DecodeFromChars("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"),
                Y = Base64Url.DecodeFromChars("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"),
            },
        });
        using var key = new DPoPKey(ec, DPoPAlgorithm.ES256, Now);

        Assert.Equal("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", key.Thumbprint);
    }

    [Fact]
    public void The_thumbprint_of_RFC_7638s_example_RSA_key_matches()
    {
        // RFC 7638 §3.1.
        using var rsa = RSA.Create(new RSAParameters
        {
            Modulus = Base64Url.DecodeFromChars(
                "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"),
            Exponent = Base64Url.DecodeFromChars("AQAB"),
        });
        using var key = new DPoPKey(rsa, DPoPAlgorithm.RS256, Now);

        Assert.Equal("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", key.Thumbprint);
    }

    [Theory]
    [InlineData(DPoPAlgorithm.ES256)]
    [InlineData(DPoPAlgorithm.RS256)]
    [InlineData(DPoPAlgorithm.PS256)]
    public void A_proof_is_a_signed_dpop_jwt_with_the_public_key_only(DPoPAlgorithm algorithm)
    {
        using var key = DPoPKey.Generate(algorithm, Now);

        var proof = DPoPProof.Create(key, "GET", new Uri("https://api.example.com/orders/1?page=2#top"), Now, accessToken: "token-1", nonce: "n-42");

        var claims = DPoPProofReader.Read(proof);
        Assert.NotNull(claims);
        Assert.Equal("dpop+jwt", claims.Typ);
        Assert.Equal(algorithm.ToString(), claims.Alg);
        Assert.Equal(key.Thumbprint, claims.Thumbprint);
        Assert.Equal("GET", claims.Htm);
        Assert.Equal("https://api.example.com/orders/1", claims.Htu);
        Assert.Equal(Now.ToUnixTimeSeconds(), claims.Iat);
        Assert.Equal(DPoPProofReader.AccessTokenHash("token-1"), claims.Ath);
        Assert.Equal("n-42", claims.Nonce);
        using var jwk = JsonDocument.Parse(claims.JwkJson);
        Assert.All(new[] { "d", "p", "q", "dp", "dq", "qi" }, member => Assert.False(jwk.RootElement.TryGetProperty(member, out _)));
    }

    [Fact]
    public void Every_proof_has_its_own_jti_and_no_ath_or_nonce_unless_given()
    {
        using var key = DPoPKey.Generate(DPoPAlgorithm.ES256, Now);
        var target = new Uri("https://login.example.com/token");

        var first = DPoPProofReader.Read(DPoPProof.Create(key, "POST", target, Now))!;
        var second = DPoPProofReader.Read(DPoPProof.Create(key, "POST", target, Now))!;

        Assert.NotEqual(first.Jti, second.Jti);
        Assert.True(Base64Url.DecodeFromChars(first.Jti).Length >= 16);
        Assert.Null(first.Ath);
        Assert.Null(first.Nonce);
    }

    [Fact]
    public void The_target_uri_keeps_a_non_default_port_and_drops_the_default_one()
    {
        Assert.Equal("https://api.example.com:8443/a/b", DPoPProof.TargetUri(new Uri("https://api.example.com:8443/a/b?x=1")));
        Assert.Equal("https://api.example.com/a%20b", DPoPProof.TargetUri(new Uri("https://API.example.com:443/a%20b")));
    }

    [Fact]
    public void A_generated_key_survives_its_export_and_import()
    {
        using var key = DPoPKey.Generate(DPoPAlgorithm.ES256, Now);
        using var again = DPoPKey.Import(key.ExportPrivateKey(), DPoPAlgorithm.ES256, Now);

        Assert.Equal(key.Thumbprint, again.Thumbprint);
        var input = Encoding.ASCII.GetBytes("signing input");
        var signature = new byte[again.SignatureLength];
        again.Sign(input, signature);
        Assert.True(key.Verify(input, signature));
        Assert.DoesNotContain("BEGIN", key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_nonce_is_remembered_per_origin_and_only_when_well_formed()
    {
        var nonces = new DPoPNonces();
        using var response = new HttpResponseMessage();
        response.Headers.TryAddWithoutValidation("DPoP-Nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v");

        Assert.True(nonces.Remember(new Uri("https://as.example.com/token"), response, sent: null));
        Assert.Equal("eyJ7S_zG.eyJH0-Z.HX4w-7v", nonces.Get(new Uri("https://as.example.com/par")));
        Assert.Null(nonces.Get(new Uri("https://api.example.com/")));
        Assert.False(nonces.Remember(new Uri("https://as.example.com/token"), response, sent: "eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        Assert.False(DPoPNonces.IsNonce("has space"));
        Assert.False(DPoPNonces.IsNonce("quote\""));
    }

    [Fact]
    public void Only_the_client_assertion_of_a_form_is_replaced()
    {
        var form = "grant_type=refresh_token&client_assertion=old.jwt.value&refresh_token=rt";

        Assert.Equal("grant_type=refresh_token&client_assertion=new.jwt%2Bvalue&refresh_token=rt",
            DPoPTokenRequestHandler.ReplaceParameter(form, "client_assertion", "new.jwt+value"));
        Assert.False(DPoPTokenRequestHandler.HasParameter("xgrant_type=1", "grant_type"));
    }
}
