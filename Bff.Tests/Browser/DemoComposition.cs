using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Playwright;

namespace Bff.Tests.Browser;

/// <summary>
/// The demo as run-demo.sh runs it, on free loopback ports: the gateway (serving the built spa-sample), the demo
/// OpenID provider and the demo API as real Kestrel processes, plus Debian's Chromium driven by Playwright.
/// The gateway is at <c>localhost</c> and the provider at <c>127.0.0.1</c>, so their cookies never mix.
/// Access tokens live <see cref="AccessTokenLifetime"/> so a refresh happens within seconds.
/// </summary>
public sealed class DemoComposition : IAsyncLifetime
{
    public const string ClientId = "bff";
    public static readonly TimeSpan AccessTokenLifetime = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan RefreshBeforeExpiry = TimeSpan.FromSeconds(3);

    internal static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly List<DemoProcess> _processes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private IPlaywright? _playwright;

    public Uri GatewayUrl { get; private set; } = null!;

    public Uri ProviderUrl { get; private set; } = null!;

    public Uri ApiUrl { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Screenshots, traces and the apps' logs: bin/&lt;configuration&gt;/net10.0/artifacts/browser.</summary>
    public string ArtifactsDirectory { get; } = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts", "browser")).FullName;

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    public static string BuildConfiguration => Metadata("BuildConfiguration");

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot;
        var configuration = BuildConfiguration;
        var spaRoot = await SpaBuild.EnsureBuiltAsync(root);

        GatewayUrl = new Uri($"http://localhost:{FreePort()}/");
        ProviderUrl = new Uri($"http://127.0.0.1:{FreePort()}/");
        ApiUrl = new Uri($"http://127.0.0.1:{FreePort()}/");
        // As run-demo.sh: no shared secret; the gateway signs client assertions with a key of its own and publishes the
        // public half at /bff/jwks, where the provider reads it (the client's jwks_uri).
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var gateway = GatewayUrl.AbsoluteUri.TrimEnd('/');

        var provider = Start("provider", root, configuration, "demo/Bff.Demo.Identity", "Bff.Demo.Identity.dll",
            [
                "--urls", ProviderUrl.AbsoluteUri.TrimEnd('/'),
                $"--Demo:AccessTokenLifetime={AccessTokenLifetime:c}",
                $"--Demo:Client:ClientId={ClientId}",
                $"--Demo:Client:RedirectUris:0={gateway}/signin-oidc",
                $"--Demo:Client:PostLogoutRedirectUris:0={gateway}/signout-callback-oidc",
                $"--Demo:Client:BackchannelLogoutUri={gateway}/bff/backchannel",
                "--Demo:DPoP:RequireNonce=true",
                $"--Demo:Client:JwksUri={gateway}/bff/jwks",
            ],
            new Dictionary<string, string>());

        var api = Start("api", root, configuration, "demo/Bff.Demo.Api", "Bff.Demo.Api.dll",
            ["--urls", ApiUrl.AbsoluteUri.TrimEnd('/'), $"--Demo:Authority={ProviderUrl.AbsoluteUri}", "--Demo:DPoP:RequireNonce=true"],
            new Dictionary<string, string>());

        var gatewayProcess = Start("gateway", root, configuration, "Bff.Host", "Bff.Host.dll",
            [
                "--urls", gateway,
                "--Logging:LogLevel:Microsoft.AspNetCore=Warning", // request lines carry the authorization code
                $"--Bff:Authority={ProviderUrl.AbsoluteUri}",
                $"--Bff:ClientId={ClientId}",
                "--Bff:RequireHttpsMetadata=false",
                // Optional in Development; set so that the browser's whole journey passes the Host check.
                $"--Bff:PublicOrigin={gateway}",
                "--Bff:Scopes=openid profile email offline_access demo_api",
                $"--Bff:Tokens:RefreshBeforeExpiry={RefreshBeforeExpiry:c}",
                "--Bff:DPoP:Enabled=true", // as run-demo.sh: the provider binds the tokens, the API checks the proofs
                "--Bff:Claims:FromUserInfo=true", // and the provider's userinfo wants the bound token with a proof too
                $"--Bff:Spa:RootPath={spaRoot}",
                "--ReverseProxy:Routes:api:ClusterId=demo-api",
                "--ReverseProxy:Routes:api:Match:Path=/api/{**catch-all}",
                "--ReverseProxy:Routes:api:Metadata:Bff.Token=User",
                "--ReverseProxy:Routes:alice-only:ClusterId=demo-api",
                "--ReverseProxy:Routes:alice-only:Match:Path=/api/alice-only/whoami",
                "--ReverseProxy:Routes:alice-only:AuthorizationPolicy=alice-only",
                "--ReverseProxy:Routes:alice-only:Transforms:0:PathPattern=/api/whoami",
                "--Bff:Authorization:Policies:alice-only:RequireClaims:sub:0=d7a3c1e0-alice",
                "--ReverseProxy:Routes:recent:ClusterId=demo-api",
                "--ReverseProxy:Routes:recent:Match:Path=/api/recent/whoami",
                "--ReverseProxy:Routes:recent:Metadata:Bff.MaxAge=60",
                "--ReverseProxy:Routes:recent:Transforms:0:PathPattern=/api/whoami",
                $"--ReverseProxy:Clusters:demo-api:Destinations:api:Address={ApiUrl.AbsoluteUri}",
            ],
            new Dictionary<string, string>
            {
                ["Bff__ClientAuthentication__Method"] = "PrivateKeyJwt",
                ["Bff__ClientAuthentication__Keys__0__Pem"] = clientKey.ExportPkcs8PrivateKeyPem(),
                ["Bff__ClientAuthentication__Audience"] = "Issuer", // what OpenIddict 7 wants: aud the issuer,
                ["Bff__ClientAuthentication__AssertionHeaderType"] = "ClientAuthenticationJwt", // typ client-authentication+jwt
                ["Bff__ClientAuthentication__PublishJwks"] = "true",
            });

        var startup = TimeSpan.FromSeconds(60);
        await Task.WhenAll(
            provider.WaitUntilReadyAsync(new Uri(ProviderUrl, ".well-known/openid-configuration"), startup),
            api.WaitUntilReadyAsync(new Uri(ApiUrl, "health"), startup),
            gatewayProcess.WaitUntilReadyAsync(GatewayUrl, startup));

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath(),
            Headless = true,
            Args = ChromiumArgs,
        });
    }

    public async Task<ProviderStats> ProviderStatsAsync() =>
        await _http.GetFromJsonAsync<ProviderStats>(new Uri(ProviderUrl, "demo/stats"))
        ?? throw new InvalidOperationException("The provider answered /demo/stats with nothing.");

    /// <summary>The apps' recent output, for a failure message.</summary>
    public string Logs => string.Join(
        Environment.NewLine,
        _processes.Select(p => $"----- {p.Name}{(p.HasExited ? " (exited)" : "")} -----{Environment.NewLine}{Tail(p.Output, 60)}"));

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        _http.Dispose();
    }

    private DemoProcess Start(string name, string root, string configuration, string project, string dll, string[] arguments, Dictionary<string, string> environment)
    {
        var path = Path.Combine(root, project, "bin", configuration, "net10.0", dll);
        var process = DemoProcess.Start(name, path, arguments, environment, Path.Combine(ArtifactsDirectory, name + ".log"));
        _processes.Add(process);
        return process;
    }

    internal static string ChromiumPath()
    {
        var path = Environment.GetEnvironmentVariable("BFF_TEST_CHROMIUM") ?? "/usr/bin/chromium";
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException(
                $"Chromium is not installed at {path}. Install Debian's package (apt-get install -y chromium; test.sh does) " +
                "or point BFF_TEST_CHROMIUM at a Chromium binary.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Metadata(string key) =>
        typeof(DemoComposition).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");

    private static string Tail(string text, int lines) =>
        string.Join(Environment.NewLine, text.Split(Environment.NewLine).TakeLast(lines));
}

[CollectionDefinition(Name)]
public sealed class DemoCompositionGroup : ICollectionFixture<DemoComposition>
{
    public const string Name = "Demo composition in a real browser";
}
