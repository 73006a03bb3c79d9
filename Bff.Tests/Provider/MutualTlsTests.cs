using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Bff.Provider;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Provider;

/// <summary>
/// RFC 8705 mutual TLS against a real Kestrel on loopback that requires a client certificate from a test CA: the
/// provider advertises <c>mtls_endpoint_aliases</c>, and the gateway's code exchange, client credentials and revocation
/// go there with its certificate on the connection and the client id (no secret) in the body.
/// </summary>
public sealed class MutualTlsTests : IAsyncLifetime, IDisposable
{
    private readonly TestCertificateAuthority _ca = new();
    private readonly List<string> _files = [];
    private MutualTlsEndpoint _endpoint = null!;
    private TestIdentityProvider _idp = null!;

    public async Task InitializeAsync()
    {
        _idp = new TestIdentityProvider();
        _endpoint = await MutualTlsEndpoint.StartAsync(_ca, _idp);
        _idp.ExtraDiscoveryFields["mtls_endpoint_aliases"] = new JsonObject
        {
            ["token_endpoint"] = _endpoint.Address + "token",
            ["revocation_endpoint"] = _endpoint.Address + "revoke",
        };
        _idp.ExtraDiscoveryFields["tls_client_certificate_bound_access_tokens"] = true;
    }

    public async Task DisposeAsync()
    {
        await _endpoint.DisposeAsync();
        _idp.Dispose();
    }

    public void Dispose()
    {
        _ca.Dispose();
        foreach (var file in _files)
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Tls_client_auth_presents_the_certificate_at_the_mtls_aliases_with_the_client_id_and_no_secret()
    {
        using var client = _ca.Issue("CN=bff-client", TimeSpan.FromDays(30));
        // A Kubernetes TLS Secret's shape: tls.crt and tls.key, side by side.
        var certificate = WriteFile(client.ExportCertificatePem());
        var key = WriteFile(client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        using var gateway = Gateway(("Bff:ClientAuthentication:Method", "TlsClientAuth"), ("Bff:ClientAuthentication:Certificate:Path", certificate),
            ("Bff:ClientAuthentication:Certificate:KeyPath", key));
        using var browser = gateway.CreateBrowser();

        var signIn = await browser.SignInAsync(_idp);
        var credentials = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        var revoked = await gateway.Services.GetRequiredService<TokenRevoker>().RevokeAsync(
            new TokenSet { AccessToken = "at", RefreshToken = "rt.alice.1", AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1) }, "session", CancellationToken.None);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal(TokenCallStatus.Succeeded, credentials.Status);
        Assert.True(revoked);
        Assert.Equal(["/token", "/token", "/revoke"], _endpoint.Received.Select(r => r.Path));
        Assert.All(_endpoint.Received, r =>
        {
            Assert.Equal(client.Thumbprint, r.CertificateThumbprint);
            Assert.Equal(TestIdentityProvider.ClientId, r.Form.GetValueOrDefault("client_id"));
            Assert.False(r.Form.ContainsKey("client_secret"));
            Assert.False(r.Form.ContainsKey("client_assertion"));
            Assert.False(r.HasAuthorizationHeader);
        });
        // Nothing went to the regular endpoints but what the aliases handed on.
        Assert.Equal(2, _idp.RequestsTo("/token").Count());
        Assert.Single(_idp.RequestsTo("/revoke"));
    }

    [Fact]
    public async Task A_certificate_the_provider_does_not_trust_gets_no_token()
    {
        using var stranger = new TestCertificateAuthority();
        using var client = stranger.Issue("CN=bff-client", TimeSpan.FromDays(30));
        var pfx = WriteFile(client.Export(X509ContentType.Pkcs12, "pfx-password"), ".pfx");
        using var gateway = Gateway(("Bff:ClientAuthentication:Method", "SelfSignedTlsClientAuth"), ("Bff:ClientAuthentication:Certificate:Path", pfx),
            ("Bff:ClientAuthentication:Certificate:Password", "pfx-password"));

        var credentials = await gateway.Services.GetRequiredService<TokenEndpointClient>().ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.NotEqual(TokenCallStatus.Succeeded, credentials.Status);
        Assert.Empty(_endpoint.Received);
    }

    [Fact]
    public async Task A_renewed_certificate_is_presented_on_the_next_new_connection_and_a_half_updated_pair_is_never_used()
    {
        using var first = _ca.Issue("CN=bff-client", TimeSpan.FromDays(30));
        using var renewed = _ca.Issue("CN=bff-client", TimeSpan.FromDays(90));
        // What cert-manager keeps up to date: tls.crt and tls.key of one Secret. Here the key is updated before the
        // certificate, as with two Secrets, or a writer that is not the kubelet.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var secret = TlsSecret(first);
        using var gateway = Gateway(time, secret);
        // Each answer closes its connection, so each call below makes a new TLS connection.
        _endpoint.CloseConnections = true;
        var tokens = gateway.Services.GetRequiredService<TokenEndpointClient>();

        var before = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        secret.Update("tls.key", renewed.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        time.Advance(ClientCredentials.CheckInterval);
        var halfUpdated = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);
        secret.Update("tls.crt", renewed.ExportCertificatePem());
        time.Advance(ClientCredentials.CheckInterval);
        var after = await tokens.ClientCredentialsAsync(TokenTarget.Default, CancellationToken.None);

        Assert.Equal([TokenCallStatus.Succeeded, TokenCallStatus.Succeeded, TokenCallStatus.Succeeded], [before.Status, halfUpdated.Status, after.Status]);
        Assert.Equal([first.Thumbprint, first.Thumbprint, renewed.Thumbprint], _endpoint.Received.Select(r => r.CertificateThumbprint));
        var refused = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2121);
        Assert.Contains("Bff:ClientAuthentication:Certificate:Path: the certificate and private key cannot be read together", refused.Message, StringComparison.Ordinal);
        var taken = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == 2120);
        Assert.Contains(renewed.Thumbprint, taken.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The gateway, trusting the test CA for the provider's TLS as a deployment would trust its provider's CA (the
    /// product's server-certificate validation is otherwise unchanged).
    /// </summary>
    [Fact]
    public async Task A_certificate_nearing_expiry_degrades_readiness_warns_once_a_day_and_its_renewal_clears_it()
    {
        using var first = _ca.Issue("CN=bff-client", TimeSpan.FromDays(30));
        using var renewed = _ca.Issue("CN=bff-client", TimeSpan.FromDays(90));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var secret = TlsSecret(first);
        using var gateway = Gateway(time, secret);
        using var gauge = new GaugeReader(gateway.Services.GetRequiredService<Bff.Observability.BffMetrics>().Meter, "bff.client_auth.certificate.time_left");
        int Warnings() => gateway.Logs.Lines.Count(l => l.EventId.Id == 2123);

        Assert.Equal(HealthStatus.Healthy, (await CertificateCheckAsync(gateway)).Status);
        Assert.InRange(gauge.Read("tls"), TimeSpan.FromDays(29).TotalSeconds, TimeSpan.FromDays(30).TotalSeconds);

        // Sixteen days on, fourteen are left: readiness is degraded (still ready) and one warning names the certificate.
        time.Advance(TimeSpan.FromDays(16) + TimeSpan.FromHours(2));
        var degraded = await CertificateCheckAsync(gateway);
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("tls expires at", degraded.Description, StringComparison.Ordinal);
        Assert.Equal(1, Warnings());
        Assert.Contains(first.Thumbprint, gateway.Logs.Lines.Single(l => l.EventId.Id == 2123).Message, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromHours(20));
        Assert.Equal(1, Warnings());
        time.Advance(TimeSpan.FromHours(5));
        Assert.Equal(2, Warnings());

        // cert-manager renews it: taken within the check interval, and all is well again.
        secret.Update("tls.key", renewed.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        secret.Update("tls.crt", renewed.ExportCertificatePem());
        time.Advance(ClientCredentials.CheckInterval);
        Assert.Equal(HealthStatus.Healthy, (await CertificateCheckAsync(gateway)).Status);
        Assert.InRange(gauge.Read("tls"), TimeSpan.FromDays(72).TotalSeconds, TimeSpan.FromDays(73).TotalSeconds);
    }

    /// <summary>A Kubernetes TLS Secret, mounted: this certificate as tls.crt and its key as tls.key.</summary>
    private static SecretMount TlsSecret(X509Certificate2 certificate) => new(new Dictionary<string, string>
    {
        ["tls.crt"] = certificate.ExportCertificatePem(),
        ["tls.key"] = certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem(),
    });

    /// <summary>A gateway authenticating with mutual TLS from that Secret's files.</summary>
    private GatewayFactory Gateway(FakeTimeProvider time, SecretMount secret) =>
        Gateway(time, ("Bff:ClientAuthentication:Method", "TlsClientAuth"), ("Bff:ClientAuthentication:Certificate:Path", secret.PathOf("tls.crt")),
            ("Bff:ClientAuthentication:Certificate:KeyPath", secret.PathOf("tls.key")));

    private static async Task<HealthReportEntry> CertificateCheckAsync(GatewayFactory gateway) =>
        (await gateway.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["client_certificate"];

    /// <summary>Reads one observable gauge's current value per tag on demand.</summary>
    private sealed class GaugeReader : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

        public GaugeReader(System.Diagnostics.Metrics.Meter meter, string name)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter == meter && instrument.Name == name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "certificate")
                    {
                        _values[(string)tag.Value!] = value;
                    }
                }
            });
            _listener.Start();
        }

        public double Read(string certificate)
        {
            _values.Clear();
            _listener.RecordObservableInstruments();
            return _values[certificate];
        }

        public void Dispose() => _listener.Dispose();
    }

    private GatewayFactory Gateway(params (string Key, string? Value)[] settings) => Gateway(null, settings);

    private GatewayFactory Gateway(FakeTimeProvider? time, params (string Key, string? Value)[] settings)
    {
        var values = settings.ToDictionary(s => s.Key, s => s.Value);
        values["Bff:ClientSecret"] = null;
        return new GatewayFactory(_idp, values, services =>
        {
            foreach (var name in new[] { ProviderHttp.ClientName, ProviderHttp.RetryingClientName, ProviderHttp.BackchannelName })
            {
                services.AddHttpClient(name).ConfigurePrimaryHttpMessageHandler((handler, _) =>
                    ((SocketsHttpHandler)handler).SslOptions.RemoteCertificateValidationCallback = _ca.ValidatesServer);
            }
        }, time: time);
    }

    private string WriteFile(string content) => WriteFile(System.Text.Encoding.ASCII.GetBytes(content), ".pem");

    private string WriteFile(byte[] content, string extension)
    {
        var path = Path.Combine(Path.GetTempPath(), "bff-mtls-" + Guid.NewGuid().ToString("N") + extension);
        File.WriteAllBytes(path, content);
        _files.Add(path);
        return path;
    }
}

/// <summary>A certificate authority made in the test: a root, and certificates it issues for clients and for localhost.</summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private readonly RSA _key = RSA.Create(2048);

    public TestCertificateAuthority()
    {
        var request = new CertificateRequest("CN=bff test CA " + Guid.NewGuid().ToString("N")[..8], _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    public X509Certificate2 Root { get; }

    /// <summary>A certificate (with its private key) for <paramref name="subject"/>: a client, or <c>CN=localhost</c> with a loopback SAN.</summary>
    public X509Certificate2 Issue(string subject, TimeSpan lifetime, bool server = false)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        using var issued = request.Create(Root, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow + lifetime, RandomNumberGenerator.GetBytes(12));
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this CA (and only to it).</summary>
    public bool Issued(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public bool ValidatesServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
        && Issued(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));

    public void Dispose()
    {
        Root.Dispose();
        _key.Dispose();
    }
}

/// <summary>
/// The provider's mutual-TLS endpoints (RFC 8705 <c>mtls_endpoint_aliases</c>): Kestrel on loopback over https, which
/// refuses a handshake without a client certificate issued by the test CA, records what each request carried, and
/// hands the request on to the stub provider's own endpoint for the answer.
/// </summary>
internal sealed class MutualTlsEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<MutualTlsRequest> _received = new();
    private readonly X509Certificate2 _serverCertificate;

    private MutualTlsEndpoint(WebApplication app, X509Certificate2 serverCertificate)
    {
        _app = app;
        _serverCertificate = serverCertificate;
    }

    public string Address { get; private set; } = null!;

    public IReadOnlyList<MutualTlsRequest> Received => [.. _received];

    /// <summary>Whether each answer closes its connection (<c>Connection: close</c>), so the next call makes a new TLS handshake.</summary>
    public bool CloseConnections { get; set; }

    public static async Task<MutualTlsEndpoint> StartAsync(TestCertificateAuthority ca, TestIdentityProvider idp)
    {
        var serverCertificate = ca.Issue("CN=localhost", TimeSpan.FromDays(1), server: true);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
        {
            https.ServerCertificate = serverCertificate;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (certificate, _, _) => ca.Issued(certificate);
        })));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var endpoint = new MutualTlsEndpoint(app, serverCertificate);
        app.MapPost("/{endpoint}", async (HttpContext context, string endpoint) =>
        {
            var form = await context.Request.ReadFormAsync();
            Record(context, form);
            using var upstream = new HttpClient();
            var response = await upstream.PostAsync(
                idp.Authority + "/" + endpoint, new FormUrlEncodedContent(form.SelectMany(f => f.Value.Select(v => new KeyValuePair<string, string>(f.Key, v!)))));
            if (ClosesConnections())
            {
                context.Response.Headers.Connection = "close";
            }

            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await response.Content.CopyToAsync(context.Response.Body);
        });

        bool ClosesConnections() => endpoint.CloseConnections;

        void Record(HttpContext context, IFormCollection form) => endpoint._received.Enqueue(new MutualTlsRequest(
            context.Request.Path,
            context.Connection.ClientCertificate?.Thumbprint,
            form.ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal),
            context.Request.Headers.Authorization.Count > 0));

        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        endpoint.Address = $"https://localhost:{port}/";
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _serverCertificate.Dispose();
    }
}

internal sealed record MutualTlsRequest(string Path, string? CertificateThumbprint, Dictionary<string, string> Form, bool HasAuthorizationHeader);
