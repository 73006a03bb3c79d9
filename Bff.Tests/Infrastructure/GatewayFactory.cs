using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Infrastructure;

/// <summary>
/// The gateway, composed exactly as Program.cs composes it, pointed at a <see cref="TestIdentityProvider"/>.
/// Runs in the Production environment unless a test says otherwise, so what is tested is what ships.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    private readonly string _environment;

    public GatewayFactory(
        TestIdentityProvider idp,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        string environment = "Production",
        FakeTimeProvider? time = null)
    {
        Idp = idp;
        Time = time;
        _environment = environment;
        _services = services;
        _settings = new Dictionary<string, string?>
        {
            ["Bff:Authority"] = idp.Authority,
            ["Bff:ClientId"] = TestIdentityProvider.ClientId,
            ["Bff:ClientSecret"] = TestIdentityProvider.ClientSecret,
            ["Bff:RequireHttpsMetadata"] = "false",
            // The origin CreateBrowser() talks to; Kestrel-hosted gateways (GatewayReplica, ProxyTestHost) set their own.
            ["Bff:PublicOrigin"] = "https://localhost",
            // appsettings.json keeps the framework's per-request and per-provider-call lines at Warning; tests see everything they log.
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
            ["Logging:LogLevel:Yarp"] = "Trace",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
            ["Logging:LogLevel:Polly"] = "Trace",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public TestIdentityProvider Idp { get; }

    public FakeTimeProvider? Time { get; }

    public CapturingLoggerProvider Logs { get; } = new();

    public BrowserClient CreateBrowser() => new(Server.CreateHandler(), new Uri("https://localhost"));

    /// <summary>A browser on another origin, e.g. <c>http://gateway.test</c> (the scheme and host the gateway sees).</summary>
    public BrowserClient CreateBrowser(Uri baseAddress) => new(Server.CreateHandler(), baseAddress);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        // UseSetting makes the settings visible while Program.cs composes the app (AddBffSessions reads the store
        // kind, AddBffObservability the OTEL_* variables); the in-memory source keeps them on top afterwards.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(_settings));
        builder.ConfigureLogging(logging =>
        {
            // Captured for assertions, not printed, so the test output stays readable. Only the console and debug
            // providers go: the OpenTelemetry provider the gateway adds must stay.
            var printing = logging.Services.Where(d => d.ServiceType == typeof(ILoggerProvider)
                && d.ImplementationType?.Name is "ConsoleLoggerProvider" or "DebugLoggerProvider" or "EventSourceLoggerProvider").ToList();
            foreach (var descriptor in printing)
            {
                logging.Services.Remove(descriptor);
            }

            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(Logs);
        });
        builder.ConfigureTestServices(services =>
        {
            if (Time is not null)
            {
                services.AddSingleton<TimeProvider>(Time);
            }

            _services?.Invoke(services);
        });
    }
}
