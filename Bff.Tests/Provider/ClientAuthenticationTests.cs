using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Bff.Configuration;
using Bff.Provider;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Tests.Provider;

/// <summary>
/// The gateway authenticates to the provider the configured way on every call (code exchange, PAR, refresh, client
/// credentials, revocation): private_key_jwt checked by a provider that verifies the assertion, the secret methods,
/// key rotation through the published JWKS, and start-up refusals of keys that cannot serve.
/// </summary>
public sealed class ClientAuthenticationTests : IDisposable
{
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var file in _files)
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("PS256")]
    [InlineData("ES256")]
    public async Task Private_key_jwt_authenticates_every_call_to_a_provider_that_verifies_the_assertion(string algorithm)
    {
        var (pem, publicKey) = algorithm == "ES256" ? NewEcKey(ECCurve.NamedCurves.nistP256) : NewRsaKey(2048);
        using var idp = new TestIdentityProvider(advertisePar: true);
        idp.ExtraDiscoveryFields["token_endpoint_auth_signing_alg_values_supported"] = new JsonArray(algorithm, "HS256");
        var verifier = new ClientAssertionVerifier(idp, [publicKey]);
        idp.ClientAuthenticationCheck = verifier.Check;
        // The RSA key from a mounted file, the EC key as PEM text from configuration: both ways a key arrives.
        var key = algorithm == "ES256"
            ? new Dictionary<string, string?> { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem }
            : new Dictionary<string, string?> { ["Bff:ClientAuthentication:Keys:0:Path"] = WriteFile(pem) };
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(key, ("Bff:ClientAuthentication:Keys:0:KeyId", "gateway-2026"), ("Bff:ClientAuthentication:PublishJwks", "true")));
        using var browser = gateway.CreateBrowser();

        var signIn = await browser.SignInAsync(idp);
        var tokens = gateway.Services.GetRequiredService<TokenEndpointClient>();
        var refresh = await tokens.RefreshAsync("rt.alice.1", TokenTarget.Default, CancellationToken.None);
        var client = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var revoked = await gateway.Services.GetRequiredService<TokenRevoker>()
            .RevokeAsync(new TokenSet { AccessToken = "at", RefreshToken = "rt.alice.2", AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, "session-log-id", CancellationToken.None);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal(TokenCallStatus.Succeeded, refresh.Status);
        Assert.Equal(TokenCallStatus.Succeeded, client.Status);
        Assert.True(revoked);
        Assert.Equal(0, verifier.Refused);
        // PAR, code exchange, refresh, client credentials, revocation: each with its own assertion.
        Assert.Equal(5, verifier.Accepted.Count);
        Assert.All(verifier.Accepted, a =>
        {
            Assert.Equal(algorithm == "RS256" ? "RS256" : algorithm, a.Alg);
            Assert.Equal("gateway-2026", a.Kid);
            Assert.Equal(TestIdentityProvider.ClientId, a.Issuer);
            Assert.Equal(verifier.ExpectedAudience, Assert.Single(a.Audiences));
            Assert.True(a.ValidTo - a.IssuedAt <= TimeSpan.FromSeconds(60));
        });
        Assert.Equal(5, verifier.Accepted.Select(a => a.Id).Distinct().Count());
        // The published key names the algorithm it is used with, for providers that hold a key to its alg.
        var published = Assert.Single(new JsonWebKeySet(await gateway.CreateClient().GetStringAsync("/bff/jwks")).Keys);
        Assert.Equal(("gateway-2026", algorithm), (published.Kid, published.Alg));
        AssertNothingOfTheKeyLogged(gateway, pem, idp);
    }

    [Fact]
    public async Task Private_key_jwt_prefers_PS256_for_an_RSA_key_and_falls_back_to_RS256_when_the_provider_lists_none()
    {
        var (pem, publicKey) = NewRsaKey(3072);
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [publicKey]);
        idp.ClientAuthenticationCheck = verifier.Check;
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Path"] = WriteFile(pem) }));

        var client = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal(TokenCallStatus.Succeeded, client.Status);
        Assert.Equal("RS256", Assert.Single(verifier.Accepted).Alg);
    }

    [Fact]
    public async Task An_assertion_signed_with_a_key_the_provider_does_not_know_is_refused_and_no_session_is_created()
    {
        var (pem, _) = NewRsaKey(2048);
        var (_, registered) = NewRsaKey(2048);
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [registered]);
        idp.ClientAuthenticationCheck = verifier.Check;
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Path"] = WriteFile(pem) }));
        using var browser = gateway.CreateBrowser();

        var signIn = await browser.SignInAsync(idp);
        var client = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
        Assert.Contains("login_failed", await signIn.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(TokenCallStatus.ClientRejected, client.Status);
        Assert.Empty(verifier.Accepted);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    [Fact]
    public async Task A_provider_whose_advertised_algorithms_the_key_cannot_sign_is_refused_clearly_when_its_metadata_loads()
    {
        var (pem, _) = NewEcKey(ECCurve.NamedCurves.nistP256);
        using var idp = new TestIdentityProvider();
        idp.ExtraDiscoveryFields["token_endpoint_auth_signing_alg_values_supported"] = new JsonArray("RS256", "PS256");
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem }));

        var client = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var ready = await gateway.CreateClient().GetAsync("/health/ready");

        Assert.NotEqual(TokenCallStatus.Succeeded, client.Status);
        Assert.Equal(0, idp.TokenRequests);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var refusal = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2101);
        Assert.Contains("RS256, PS256", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("ES256", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retried_client_credentials_request_carries_a_new_assertion()
    {
        var (pem, publicKey) = NewRsaKey(2048);
        using var idp = new TestIdentityProvider();
        var verifier = new ClientAssertionVerifier(idp, [publicKey]);
        idp.ClientAuthenticationCheck = verifier.Check;
        idp.FailNext("/token", 1);
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Path"] = WriteFile(pem) }));

        var client = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal(TokenCallStatus.Succeeded, client.Status);
        var sent = idp.RequestsTo("/token").Select(r => TestIdentityProvider.Form(r)["client_assertion"]).ToList();
        Assert.Equal(2, sent.Count);
        Assert.NotEqual(sent[0], sent[1]);
        Assert.Single(verifier.Accepted);
    }

    [Fact]
    public async Task Client_secret_post_puts_the_secret_in_the_body_of_every_call_and_basic_in_the_header()
    {
        using var idp = new TestIdentityProvider(advertisePar: true);
        using var post = new GatewayFactory(idp, new Dictionary<string, string?> { ["Bff:ClientAuthentication:Method"] = "ClientSecretPost" });
        using var browser = post.CreateBrowser();

        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(idp)).StatusCode);
        await post.Services.GetRequiredService<TokenEndpointClient>().RefreshAsync("rt.alice.1", TokenTarget.Default, CancellationToken.None);
        await post.Services.GetRequiredService<TokenRevoker>()
            .RevokeAsync(new TokenSet { AccessToken = "at", RefreshToken = "rt.alice.2", AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, "session-log-id", CancellationToken.None);

        var calls = idp.RequestsTo("/par").Concat(idp.RequestsTo("/token")).Concat(idp.RequestsTo("/revoke")).ToList();
        Assert.Equal(4, calls.Count);
        Assert.All(calls, r =>
        {
            Assert.Equal(TestIdentityProvider.ClientSecret, TestIdentityProvider.Form(r).GetValueOrDefault("client_secret"));
            Assert.Equal(TestIdentityProvider.ClientId, TestIdentityProvider.Form(r).GetValueOrDefault("client_id"));
            Assert.False(r.Headers?.ContainsKey("Authorization") == true);
        });

        using var basicIdp = new TestIdentityProvider();
        using var basic = new GatewayFactory(basicIdp);
        using var basicBrowser = basic.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await basicBrowser.SignInAsync(basicIdp)).StatusCode);
        var exchange = Assert.Single(basicIdp.RequestsTo("/token"));
        Assert.Equal(TestIdentityProvider.ClientSecret, TestIdentityProvider.ClientSecretOf(exchange));
        Assert.False(TestIdentityProvider.Form(exchange).ContainsKey("client_secret"));
    }

    [Fact]
    public async Task Two_keys_are_published_and_switching_the_signing_key_keeps_working()
    {
        var (first, _) = NewRsaKey(2048);
        var (second, _) = NewEcKey(ECCurve.NamedCurves.nistP256);
        var firstFile = WriteFile(first);
        var secondFile = WriteFile(second);
        using var idp = new TestIdentityProvider();

        // The provider learns both keys from the gateway's JWKS, as it would from its jwks_uri.
        using var before = new GatewayFactory(idp, PrivateKeyJwt(new()
        {
            ["Bff:ClientAuthentication:Keys:0:Path"] = firstFile,
            ["Bff:ClientAuthentication:Keys:1:Path"] = secondFile,
            ["Bff:ClientAuthentication:PublishJwks"] = "true",
        }));
        var response = await before.CreateClient().GetAsync("/bff/jwks");
        var jwksText = await response.Content.ReadAsStringAsync();
        var published = new JsonWebKeySet(jwksText);
        var verifier = new ClientAssertionVerifier(idp, published.GetSigningKeys());
        idp.ClientAuthenticationCheck = verifier.Check;
        var firstCall = await before.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        using var after = new GatewayFactory(idp, PrivateKeyJwt(new()
        {
            ["Bff:ClientAuthentication:Keys:0:Path"] = secondFile,
            ["Bff:ClientAuthentication:Keys:1:Path"] = firstFile,
            ["Bff:ClientAuthentication:PublishJwks"] = "true",
        }));
        var secondCall = await after.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("public", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, published.Keys.Count);
        Assert.All(published.Keys, k =>
        {
            Assert.Equal("sig", k.Use);
            Assert.False(string.IsNullOrEmpty(k.Kid));
            Assert.False(k.HasPrivateKey);
            Assert.Null(k.D);
        });
        Assert.Equal(["RS256", "ES256"], published.Keys.Select(k => k.Alg));
        Assert.Equal(TokenCallStatus.Succeeded, firstCall.Status);
        Assert.Equal(TokenCallStatus.Succeeded, secondCall.Status);
        Assert.Equal(published.Keys.Select(k => k.Kid), verifier.Accepted.Select(a => a.Kid));
        Assert.DoesNotContain("\"d\"", jwksText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_jwks_endpoint_is_not_found_unless_publishing_is_on()
    {
        var (pem, _) = NewRsaKey(2048);
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem }));

        var response = await gateway.CreateClient().GetAsync("/bff/jwks");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    public static TheoryData<string, string> UnusableKeys => new()
    {
        { "missing", "names '/nonexistent/bff/key.pem', which cannot be read (no such file)" },
        { "certificate-only", "holds a certificate without its private key" },
        { "expired", "holds a certificate that expired on" },
        { "rsa-1024", "holds an RSA key of 1024 bits; at least 2048 are required" },
        { "p384", "holds an elliptic-curve key on a curve other than P-256" },
        { "garbage", "is neither PEM nor a PKCS#12 file" },
        { "encrypted-without-password", "holds an encrypted private key, but no Password is set for it" },
    };

    [Theory]
    [MemberData(nameof(UnusableKeys))]
    public void A_key_that_cannot_serve_stops_start_up_naming_the_key_and_never_its_material(string kind, string problem)
    {
        using var rsa = RSA.Create(2048);
        var (path, material) = kind switch
        {
            "missing" => ("/nonexistent/bff/key.pem", Guid.NewGuid().ToString("N")),
            "certificate-only" => Material(SelfSigned(rsa, DateTimeOffset.UtcNow.AddYears(1)).ExportCertificatePem()),
            "expired" => Material(SelfSigned(rsa, DateTimeOffset.UtcNow.AddDays(-1)).ExportCertificatePem() + "\n" + rsa.ExportPkcs8PrivateKeyPem()),
            "rsa-1024" => Material(RSA.Create(1024).ExportPkcs8PrivateKeyPem()),
            "p384" => Material(ECDsa.Create(ECCurve.NamedCurves.nistP384).ExportPkcs8PrivateKeyPem()),
            "garbage" => Material("not a key at all, but long enough to look like something"),
            _ => Material(rsa.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000))),
        };

        var refusals = StartUpRefusals(PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Path"] = path }));

        var refusal = Assert.Single(refusals, r => r.StartsWith("Bff:ClientAuthentication:Keys:0:Path", StringComparison.Ordinal));
        Assert.Contains(problem, refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(Body(material), string.Join('\n', refusals), StringComparison.Ordinal);

        (string, string) Material(string text) => (WriteFile(text), text);
    }

    [Fact]
    public void A_tls_client_certificate_without_its_key_or_expired_stops_start_up_naming_the_setting()
    {
        using var rsa = RSA.Create(2048);
        var certificateOnly = WriteFile(SelfSigned(rsa, DateTimeOffset.UtcNow.AddYears(1)).ExportCertificatePem());
        var expired = WriteFile(SelfSigned(rsa, DateTimeOffset.UtcNow.AddDays(-1)).ExportCertificatePem());
        var key = WriteFile(rsa.ExportPkcs8PrivateKeyPem());

        var withoutKey = StartUpRefusals(new() { ["Bff:ClientAuthentication:Method"] = "TlsClientAuth", ["Bff:ClientSecret"] = null, ["Bff:ClientAuthentication:Certificate:Path"] = certificateOnly });
        var outdated = StartUpRefusals(new()
        {
            ["Bff:ClientAuthentication:Method"] = "TlsClientAuth", ["Bff:ClientSecret"] = null,
            ["Bff:ClientAuthentication:Certificate:Path"] = expired, ["Bff:ClientAuthentication:Certificate:KeyPath"] = key,
        });

        Assert.Contains(withoutKey, r => r.StartsWith("Bff:ClientAuthentication:Certificate:Path", StringComparison.Ordinal) && r.Contains("without its private key", StringComparison.Ordinal));
        Assert.Contains(outdated, r => r.StartsWith("Bff:ClientAuthentication:Certificate:Path holds a certificate that expired on", StringComparison.Ordinal));
    }

    [Fact]
    public void The_settings_each_method_needs_are_required_and_those_it_would_not_use_are_refused()
    {
        var (pem, _) = NewRsaKey(2048);

        Assert.Contains(StartUpRefusals(new() { ["Bff:ClientAuthentication:Method"] = "PrivateKeyJwt", ["Bff:ClientSecret"] = null }),
            r => r.StartsWith("Bff:ClientAuthentication:Keys is required with Bff:ClientAuthentication:Method=PrivateKeyJwt", StringComparison.Ordinal));
        Assert.Contains(StartUpRefusals(PrivateKeyJwt(new() { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem, ["Bff:ClientSecret"] = "left-behind" })),
            r => r.StartsWith("Bff:ClientSecret is set, but Bff:ClientAuthentication:Method is PrivateKeyJwt, which does not use it", StringComparison.Ordinal));
        Assert.Contains(StartUpRefusals(new() { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem }),
            r => r.StartsWith("Bff:ClientAuthentication:Keys is set, but Bff:ClientAuthentication:Method is ClientSecretBasic", StringComparison.Ordinal));
        Assert.Contains(StartUpRefusals(new() { ["Bff:ClientAuthentication:Method"] = "TlsClientAuth", ["Bff:ClientSecret"] = null }),
            r => r.StartsWith("Bff:ClientAuthentication:Certificate:Path is required with Bff:ClientAuthentication:Method=TlsClientAuth", StringComparison.Ordinal));
        Assert.Contains(StartUpRefusals(new() { ["Bff:ClientSecret"] = null }),
            r => r.StartsWith("Bff:ClientSecret is required", StringComparison.Ordinal));
        Assert.Empty(StartUpRefusals(new() { ["Bff:ClientAuthentication:Keys:0:Pem"] = pem, ["Bff:ClientAuthentication:PublishJwks"] = "true" }));
    }

    private static Dictionary<string, string?> PrivateKeyJwt(Dictionary<string, string?> settings, params (string Key, string? Value)[] more)
    {
        settings["Bff:ClientAuthentication:Method"] = "PrivateKeyJwt";
        settings.TryAdd("Bff:ClientSecret", null);
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// What start-up refuses, one line per problem: the gateway's settings and provider services composed as AddBff
    /// composes them, and the options the host validates before it listens.
    /// </summary>
    private static List<string> StartUpRefusals(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Bff:Authority"] = "https://idp.example.com",
                ["Bff:ClientId"] = TestIdentityProvider.ClientId,
                ["Bff:ClientSecret"] = TestIdentityProvider.ClientSecret,
                ["Bff:PublicOrigin"] = "https://app.example.com",
            })
            .AddInMemoryCollection(settings)
            .Build();
        var collection = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Production, ApplicationName = "Bff.Host" });
        collection.AddBffOptions(configuration);
        collection.AddBffProvider();
        using var provider = collection.BuildServiceProvider();
        try
        {
            _ = provider.GetRequiredService<IOptions<BffOptions>>().Value;
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
    }

    private static void AssertNothingOfTheKeyLogged(GatewayFactory gateway, string pem, TestIdentityProvider idp)
    {
        var logs = gateway.Logs.AllText;
        Assert.DoesNotContain(Body(pem), logs, StringComparison.Ordinal);
        foreach (var request in idp.RequestsTo("/token").Concat(idp.RequestsTo("/par")).Concat(idp.RequestsTo("/revoke")))
        {
            if (TestIdentityProvider.Form(request).GetValueOrDefault("client_assertion") is { } assertion)
            {
                // Neither the assertion nor its signature: either would let a reader replay it within its minute.
                Assert.DoesNotContain(assertion.Split('.')[2], logs, StringComparison.Ordinal);
            }
        }
    }

    /// <summary>A line from the middle of the PEM body: what a leak of the key would contain.</summary>
    private static string Body(string pem)
    {
        var lines = pem.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        return lines.Count > 2 ? lines[lines.Count / 2] : pem;
    }

    private string WriteFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), "bff-key-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(path, content);
        _files.Add(path);
        return path;
    }

    private static (string Pem, SecurityKey Public) NewRsaKey(int bits)
    {
        using var rsa = RSA.Create(bits);
        return (rsa.ExportPkcs8PrivateKeyPem(), new RsaSecurityKey(rsa.ExportParameters(false)));
    }

    private static (string Pem, SecurityKey Public) NewEcKey(ECCurve curve)
    {
        using var ec = ECDsa.Create(curve);
        return (ec.ExportPkcs8PrivateKeyPem(), new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))));
    }

    private static X509Certificate2 SelfSigned(RSA key, DateTimeOffset notAfter)
    {
        var request = new CertificateRequest("CN=bff-client", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(notAfter.AddYears(-2), notAfter);
    }
}
