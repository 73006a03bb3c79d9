using System.Net;
using System.Security.Cryptography;
using Bff.Configuration;
using Bff.DPoP;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bff.Tests.DPoP;

/// <summary>Where the DPoP key comes from, how it is checked at start-up, and how it rotates without ending sessions.</summary>
public sealed class DPoPKeyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("bff-dpop-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WritePem(string name, AsymmetricAlgorithm key)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    private static List<string> Validate(DPoPSettings dpop) =>
        new BffOptionsValidator(new HostingEnvironment { EnvironmentName = "Production" })
            .Validate(null, new BffOptions
            {
                Authority = "https://login.example.com",
                ClientId = "c",
                ClientSecret = "s",
                PublicOrigin = "https://app.example.com",
                DPoP = dpop,
            }).Failures?.ToList() ?? [];

    [Fact]
    public void Key_files_that_are_missing_or_of_the_wrong_kind_are_refused_naming_the_key()
    {
        using var rsa = RSA.Create(2048);
        using var smallRsa = RSA.Create(1024);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var rsaFile = WritePem("rsa.pem", rsa);

        Assert.Contains(Validate(new() { Enabled = true, KeyFile = Path.Combine(_folder, "none.pem") }), f => f.StartsWith("Bff:DPoP:KeyFile '", StringComparison.Ordinal) && f.Contains("cannot be read", StringComparison.Ordinal));
        Assert.Contains(Validate(new() { Enabled = true, KeyFile = rsaFile }), f => f.Contains("does not hold an unencrypted EC private key", StringComparison.Ordinal));
        Assert.Contains(Validate(new() { Enabled = true, KeyFile = WritePem("p384.pem", p384) }), f => f.Contains("P-256", StringComparison.Ordinal));
        Assert.Contains(Validate(new() { Enabled = true, Algorithm = DPoPAlgorithm.PS256, KeyFile = WritePem("small.pem", smallRsa) }), f => f.Contains("1024 bits", StringComparison.Ordinal));
        Assert.Empty(Validate(new() { Enabled = true, Algorithm = DPoPAlgorithm.RS256, KeyFile = rsaFile }));
        Assert.Contains(Validate(new() { Enabled = true, PreviousKeyFiles = [rsaFile], Algorithm = DPoPAlgorithm.RS256 }), f => f.StartsWith("Bff:DPoP:PreviousKeyFiles needs Bff:DPoP:KeyFile", StringComparison.Ordinal));
        Assert.Contains(Validate(new() { KeyLifetime = TimeSpan.FromMinutes(10) }), f => f.StartsWith("Bff:DPoP:KeyLifetime", StringComparison.Ordinal));
        Assert.Contains(Validate(new() { Algorithm = (DPoPAlgorithm)7 }), f => f.StartsWith("Bff:DPoP:Algorithm", StringComparison.Ordinal));
        Assert.Empty(Validate(new() { Enabled = false, KeyFile = Path.Combine(_folder, "none.pem") }));
    }

    [Fact]
    public async Task With_key_files_the_current_file_binds_new_tokens_and_previous_ones_still_prove_their_tokens()
    {
        using var old = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var current = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var settings = new BffOptions { DPoP = { Enabled = true, KeyFile = WritePem("current.pem", current), PreviousKeyFiles = [WritePem("old.pem", old)] } };
        using var keys = new DPoPKeys(Options.Create(settings), new ServiceCollection().BuildServiceProvider(), new EphemeralDataProtectionProvider(),
            TimeProvider.System, NullLogger<DPoPKeys>.Instance);
        using var oldKey = new DPoPKey(old, DPoPAlgorithm.ES256, DateTimeOffset.UtcNow);
        using var currentKey = new DPoPKey(current, DPoPAlgorithm.ES256, DateTimeOffset.UtcNow);

        Assert.Equal(currentKey.Thumbprint, (await keys.GetCurrentAsync(CancellationToken.None)).Thumbprint);
        Assert.Equal(oldKey.Thumbprint, (await keys.FindAsync(oldKey.Thumbprint, CancellationToken.None))?.Thumbprint);
        Assert.Null(await keys.FindAsync("unknown", CancellationToken.None));
    }

    [Fact]
    public async Task A_stored_key_is_kept_encrypted_and_another_key_ring_cannot_read_it()
    {
        var store = new InMemoryDPoPKeyStore();
        var services = new ServiceCollection().AddKeyedSingleton<IDPoPKeyStore>(SessionStoreKind.InMemory, store).BuildServiceProvider();
        var settings = Options.Create(new BffOptions { DPoP = { Enabled = true } });
        using var first = new DPoPKeys(settings, services, new EphemeralDataProtectionProvider(), TimeProvider.System, NullLogger<DPoPKeys>.Instance);
        var key = await first.GetCurrentAsync(CancellationToken.None);

        var stored = (await store.LoadAsync(CancellationToken.None)).ProtectedKeys[key.Thumbprint];
        var pkcs8 = key.ExportPrivateKey();
        Assert.False(stored.AsSpan().IndexOf(pkcs8.AsSpan(pkcs8.Length - 32)) >= 0);

        // Another ring (a replica misconfigured with its own Data Protection keys) cannot use it and makes its own.
        using var stranger = new DPoPKeys(settings, services, new EphemeralDataProtectionProvider(), TimeProvider.System, NullLogger<DPoPKeys>.Instance);
        Assert.NotEqual(key.Thumbprint, (await stranger.GetCurrentAsync(CancellationToken.None)).Thumbprint);
    }

    [Fact]
    public async Task A_generated_key_rotates_after_its_lifetime_and_sessions_bound_to_the_old_one_keep_working_until_they_renew()
    {
        await using var host = await ProxyTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Bff:DPoP:Enabled"] = "true",
            ["Bff:DPoP:KeyLifetime"] = "01:00:00",
            ["Bff:Session:IdleTimeout"] = "03:00:00",
        });
        host.Idp.AccessTokenLifetime = TimeSpan.FromHours(2);
        using var browser = host.CreateBrowser();
        await browser.SignInAsync(host.Idp);
        var sessionKey = browser.CookieValue(ProxyTestHost.CookieName)!;
        var firstKey = host.StoredSession(sessionKey)!.Tokens.DPoPKeyThumbprint;

        host.Time.Advance(TimeSpan.FromMinutes(70));
        var client = await ProxyTestHost.EchoAsync(await host.CreateApiClient(null).GetAsync("/client-api/x"));
        var user = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/x"));

        var secondKey = DPoPProofReader.Read(client.Header("DPoP"))!.Thumbprint;
        Assert.NotEqual(firstKey, secondKey);
        Assert.Equal(firstKey, DPoPProofReader.Read(user.Header("DPoP"))!.Thumbprint);

        host.Time.Advance(TimeSpan.FromMinutes(50) - TimeSpan.FromSeconds(30));
        var renewed = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/x"));

        Assert.Equal(1, host.Idp.RefreshRequests);
        Assert.Equal(secondKey, DPoPProofReader.Read(renewed.Header("DPoP"))!.Thumbprint);
        Assert.Equal(secondKey, host.StoredSession(sessionKey)!.Tokens.DPoPKeyThumbprint);
        Assert.Contains(host.Gateway.Logs.Lines, l => l.EventId.Id == 8002);
    }
}
