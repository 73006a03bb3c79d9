using System.Security.Cryptography;
using Bff.Provider;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Provider;

/// <summary>
/// A Kubernetes Secret holding the private_key_jwt signing key is updated while the gateway runs: within one check
/// interval the next client assertion is signed with the new key and <c>/bff/jwks</c> publishes it, without a restart;
/// a file that cannot serve is never used, the key in use stays, and a later valid file is picked up.
/// </summary>
public sealed class ClientKeyRotationTests
{
    [Theory]
    [InlineData("secret-update")]
    [InlineData("rewritten-in-place")]
    public async Task A_rotated_key_file_signs_the_next_assertion_and_is_published_after_the_check_interval(string how)
    {
        var (oldPem, oldPublic) = NewRsaKey();
        var (newPem, newPublic) = NewEcKey(ECCurve.NamedCurves.nistP256);
        // The kubelet's ..data symlink swap, or a plain file overwritten where it is.
        using var secret = new SecretMount(new Dictionary<string, string> { ["key.pem"] = oldPem });
        var plainFile = Path.Combine(Path.GetTempPath(), "bff-key-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(plainFile, oldPem);
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [oldPublic, newPublic]);
        idp.ClientAuthenticationCheck = verifier.Check;
        var time = NewClock();
        using var gateway = Gateway(idp, how == "secret-update" ? secret.PathOf("key.pem") : plainFile, time);
        var tokens = gateway.Services.GetRequiredService<TokenEndpointClient>();

        var before = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var publishedBefore = await PublishedKeysAsync(gateway);
        if (how == "secret-update")
        {
            secret.Update("key.pem", newPem);
        }
        else
        {
            File.WriteAllText(plainFile, newPem);
        }

        var sameInterval = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        time.Advance(ClientCredentials.CheckInterval);
        var after = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var publishedAfter = await PublishedKeysAsync(gateway);

        Assert.Equal(TokenCallStatus.Succeeded, before.Status);
        Assert.Equal(TokenCallStatus.Succeeded, sameInterval.Status);
        Assert.Equal(TokenCallStatus.Succeeded, after.Status);
        Assert.Equal([Kid(oldPublic), Kid(oldPublic), Kid(newPublic)], verifier.Accepted.Select(a => a.Kid));
        Assert.Equal(["RS256", "RS256", "ES256"], verifier.Accepted.Select(a => a.Alg));
        Assert.Equal([(Kid(oldPublic), "RS256")], publishedBefore);
        Assert.Equal([(Kid(newPublic), "ES256")], publishedAfter);
        var taken = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2120);
        Assert.Contains(Kid(newPublic), taken.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Body(newPem), gateway.Logs.AllText, StringComparison.Ordinal);
        File.Delete(plainFile);
    }

    [Theory]
    [InlineData("half-written")]
    [InlineData("p384")]
    [InlineData("certificate-only")]
    public async Task A_key_file_that_cannot_serve_keeps_the_key_in_use_names_the_setting_once_and_a_later_valid_file_is_taken(string kind)
    {
        var (oldPem, oldPublic) = NewRsaKey();
        var (newPem, newPublic) = NewRsaKey();
        using var rsa = RSA.Create(2048);
        var (unusable, problem) = kind switch
        {
            "half-written" => (newPem[..(newPem.Length / 2)], "holds no PEM private key"),
            "p384" => (ECDsa.Create(ECCurve.NamedCurves.nistP384).ExportPkcs8PrivateKeyPem(), "holds an elliptic-curve key on a curve other than P-256"),
            _ => (new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=bff-client", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1)).ExportCertificatePem(), "holds a certificate without its private key"),
        };
        using var secret = new SecretMount(new Dictionary<string, string> { ["key.pem"] = oldPem });
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [oldPublic, newPublic]);
        idp.ClientAuthenticationCheck = verifier.Check;
        var time = NewClock();
        using var gateway = Gateway(idp, secret.PathOf("key.pem"), time);
        var tokens = gateway.Services.GetRequiredService<TokenEndpointClient>();
        await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        secret.Update("key.pem", unusable);
        time.Advance(ClientCredentials.CheckInterval);
        var whileUnusable = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var publishedWhileUnusable = await PublishedKeysAsync(gateway);
        time.Advance(ClientCredentials.CheckInterval);
        var stillUnusable = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        secret.Update("key.pem", newPem);
        time.Advance(ClientCredentials.CheckInterval);
        var fixedUp = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal(TokenCallStatus.Succeeded, whileUnusable.Status);
        Assert.Equal(TokenCallStatus.Succeeded, stillUnusable.Status);
        Assert.Equal(TokenCallStatus.Succeeded, fixedUp.Status);
        Assert.Equal([Kid(oldPublic), Kid(oldPublic), Kid(oldPublic), Kid(newPublic)], verifier.Accepted.Select(a => a.Kid));
        Assert.Equal([(Kid(oldPublic), "RS256")], publishedWhileUnusable);
        // One error for one unusable file, however many checks see it; it names the setting and the problem.
        var refused = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2121);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, refused.Level);
        Assert.Contains("Bff:ClientAuthentication:Keys:0:Path", refused.Message, StringComparison.Ordinal);
        Assert.Contains(problem, refused.Message, StringComparison.Ordinal);
        Assert.Contains(Kid(newPublic), Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2120).Message, StringComparison.Ordinal);
        var logs = gateway.Logs.AllText;
        Assert.DoesNotContain(Body(unusable), logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Body(newPem), logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Body(oldPem), logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inline_pem_key_is_never_checked_again()
    {
        var (pem, publicKey) = NewRsaKey();
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [publicKey]);
        idp.ClientAuthenticationCheck = verifier.Check;
        var time = NewClock();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?>
        {
            ["Bff:ClientAuthentication:Method"] = "PrivateKeyJwt",
            ["Bff:ClientSecret"] = null,
            ["Bff:ClientAuthentication:Keys:0:Pem"] = pem,
        }, time: time);
        var tokens = gateway.Services.GetRequiredService<TokenEndpointClient>();

        await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        time.Advance(ClientCredentials.CheckInterval * 2);
        await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal([Kid(publicKey), Kid(publicKey)], verifier.Accepted.Select(a => a.Kid));
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.EventId.Id is >= 2120 and <= 2149);
    }

    /// <summary>
    /// The stub provider checks assertions by the real clock with a minute's leeway; the fake clock starts 45 seconds
    /// behind it, so that a test can move it on by a few check intervals and still be believed.
    /// </summary>
    private static FakeTimeProvider NewClock() => new(DateTimeOffset.UtcNow.AddSeconds(-45));

    private static GatewayFactory Gateway(TestIdentityProvider idp, string keyPath, FakeTimeProvider time) =>
        new(idp, new Dictionary<string, string?>
        {
            ["Bff:ClientAuthentication:Method"] = "PrivateKeyJwt",
            ["Bff:ClientSecret"] = null,
            ["Bff:ClientAuthentication:Keys:0:Path"] = keyPath,
            ["Bff:ClientAuthentication:PublishJwks"] = "true",
        }, time: time);

    private static async Task<List<(string Kid, string Alg)>> PublishedKeysAsync(GatewayFactory gateway) =>
        [.. new JsonWebKeySet(await gateway.CreateClient().GetStringAsync("/bff/jwks")).Keys.Select(k => (k.Kid, k.Alg))];

    /// <summary>The kid the gateway gives a key without a configured KeyId: its RFC 7638 thumbprint.</summary>
    private static string Kid(SecurityKey publicKey) =>
        Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromSecurityKey(publicKey).ComputeJwkThumbprint());

    /// <summary>A line from the middle of the PEM body: what a leak of the material would contain.</summary>
    private static string Body(string pem)
    {
        var lines = pem.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        return lines.Count > 2 ? lines[lines.Count / 2] : pem;
    }

    private static (string Pem, SecurityKey Public) NewRsaKey()
    {
        using var rsa = RSA.Create(2048);
        return (rsa.ExportPkcs8PrivateKeyPem(), new RsaSecurityKey(rsa.ExportParameters(false)));
    }

    private static (string Pem, SecurityKey Public) NewEcKey(ECCurve curve)
    {
        using var ec = ECDsa.Create(curve);
        return (ec.ExportPkcs8PrivateKeyPem(), new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))));
    }
}
