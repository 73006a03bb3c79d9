using Bff.Configuration;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// One replica of the gateway on real Kestrel (a loopback port of its own), with sessions in a shared
/// <see cref="RedisFixture"/>. Several replicas in one test play a Kubernetes Service's pods.
/// </summary>
public sealed class GatewayReplica : IDisposable
{
    private readonly GatewayFactory _gateway;
    private readonly WebApplicationFactory<Program> _factory;

    private GatewayReplica(GatewayFactory gateway, WebApplicationFactory<Program> factory, Uri baseAddress)
    {
        _gateway = gateway;
        _factory = factory;
        BaseAddress = baseAddress;
    }

    /// <summary>What replicas answer for unless a test sets <c>Bff:PublicOrigin</c>: the host of <see cref="BaseAddress"/>, any port.</summary>
    public const string PublicOrigin = "http://127.0.0.1";

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _factory.Services;

    public CapturingLoggerProvider Logs => _gateway.Logs;

    public static GatewayReplica Start(
        TestIdentityProvider idp,
        RedisFixture redis,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null) =>
        Start(idp, redis.Configuration, settings, services);

    /// <summary>A replica whose <c>Bff:Redis:Configuration</c> is <paramref name="redisConfiguration"/> (Sentinel, Cluster).</summary>
    public static GatewayReplica Start(
        TestIdentityProvider idp,
        string redisConfiguration,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Bff:Session:Store"] = "Redis",
            ["Bff:Redis:Configuration"] = redisConfiguration,
            // Every replica on its own loopback port serves the same host, as pods behind one Service do.
            ["Bff:PublicOrigin"] = PublicOrigin,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var gateway = new GatewayFactory(idp, all, services);
        // Program.cs picks the session store while it registers services, before the factory's configuration
        // callbacks run; host settings are visible by then.
        var factory = gateway.WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in all)
            {
                builder.UseSetting(key, value);
            }
        });
        // A replica with the admin API listens on its admin port too, as the Helm chart's pods do.
        var adminPort = all.TryGetValue("Bff:Admin:Port", out var port) && int.TryParse(port, out var number) ? number : (int?)null;
        factory.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            if (adminPort is { } admin)
            {
                kestrel.Listen(IPAddress.Loopback, admin);
            }
        });
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single(a => adminPort is null || new Uri(a).Port != adminPort);
        return new GatewayReplica(gateway, factory, new Uri(address));
    }

    /// <summary>An absolute URL on this replica, so one <see cref="BrowserClient"/> (one cookie jar) can talk to every replica.</summary>
    public string Url(string pathAndQuery) => new Uri(BaseAddress, pathAndQuery).ToString();

    public BrowserClient CreateBrowser() =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }, BaseAddress);

    /// <summary>The Kubernetes readiness probe: <c>GET /health/ready</c>, healthy when it answers 200.</summary>
    public async Task<HealthStatus> ReadinessAsync()
    {
        using var probe = new HttpClient { BaseAddress = BaseAddress };
        using var response = await probe.GetAsync("/health/ready");
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode switch
        {
            HttpStatusCode.OK => HealthStatus.Healthy,
            HttpStatusCode.ServiceUnavailable when body.Contains("\"redis\":\"Unhealthy\"", StringComparison.Ordinal) => HealthStatus.Unhealthy,
            _ => throw new InvalidOperationException($"/health/ready answered {(int)response.StatusCode}: {body}"),
        };
    }

    public void Dispose()
    {
        _factory.Dispose();
        _gateway.Dispose();
    }
}
