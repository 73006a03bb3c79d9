using Bff.Configuration;
using Bff.Provider;
using System.Net;
using System.Net.Http.Json;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.Proxy;

/// <summary>
/// A gateway (in-process test server, or real Kestrel on loopback where streaming needs it), its stub provider and a
/// real upstream API, wired with a set of YARP routes. Time is a <see cref="FakeTimeProvider"/> that starts now.
/// </summary>
internal sealed class ProxyTestHost : IAsyncDisposable
{
    public const string CookieName = "__Host-bff";

    /// <summary>Routes every test host has: one per token mode, all to the upstream API.</summary>
    public static readonly IReadOnlyDictionary<string, (string Path, Dictionary<string, string> Metadata)> StandardRoutes =
        new Dictionary<string, (string, Dictionary<string, string>)>
        {
            ["user"] = ("/api/{**rest}", []),
            ["client"] = ("/client-api/{**rest}", new() { ["Bff.Token"] = "Client" }),
            ["orders"] = ("/orders-api/{**rest}", new() { ["Bff.Token"] = "User", ["Bff.Resource"] = "https://orders.example.com", ["Bff.Scope"] = "orders.read" }),
            ["reports"] = ("/reports-api/{**rest}", new() { ["Bff.Token"] = "Client", ["Bff.Resource"] = "https://reports.example.com" }),
            ["mixed"] = ("/mixed-api/{**rest}", new() { ["Bff.Token"] = "UserOrClient" }),
            ["public"] = ("/public-api/{**rest}", new() { ["Bff.Token"] = "None", ["Bff.Csrf"] = "false" }),
            ["anonymous"] = ("/anonymous-api/{**rest}", new() { ["Bff.Token"] = "None" }),
        };

    private readonly bool _kestrel;

    private ProxyTestHost(TestIdentityProvider idp, UpstreamApi api, GatewayFactory gateway, WatchedTimeProvider time, bool kestrel)
    {
        Idp = idp;
        Api = api;
        Gateway = gateway;
        Time = time;
        _kestrel = kestrel;
    }

    public TestIdentityProvider Idp { get; }

    public UpstreamApi Api { get; }

    public GatewayFactory Gateway { get; }

    public WatchedTimeProvider Time { get; }

    /// <summary>The gateway's address when it runs on Kestrel.</summary>
    public Uri? Address { get; private set; }

    public InMemorySessionStore Store => Gateway.Services.GetRequiredService<InMemorySessionStore>();

    public static async Task<ProxyTestHost> StartAsync(
        bool kestrel = false,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        Action<Dictionary<string, string?>>? routes = null,
        bool advertisePar = false)
    {
        var idp = new TestIdentityProvider(advertisePar);
        var api = await UpstreamApi.StartAsync();
        var time = new WatchedTimeProvider(DateTimeOffset.UtcNow);
        var all = RouteSettings(api.Address);
        if (kestrel)
        {
            all["Bff:PublicOrigin"] = GatewayReplica.PublicOrigin;
        }

        routes?.Invoke(all);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var gateway = new GatewayFactory(idp, all, services, time: time);
        var host = new ProxyTestHost(idp, api, gateway, time, kestrel);
        if (kestrel)
        {
            // An explicit listener rather than UseKestrel(0): the factory's port rewrite can race the app's own start.
            gateway.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            gateway.StartServer();
            var address = gateway.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            host.Address = new Uri(address);
        }
        else
        {
            _ = gateway.Server;
        }

        return host;
    }

    /// <summary>Adds a route <c>/cookie-api/…</c> (forwarded as <c>/api/…</c>) whose API may set its own cookies.</summary>
    public static void AddCookieRoute(Dictionary<string, string?> routes)
    {
        routes["ReverseProxy:Routes:cookies:ClusterId"] = "api";
        routes["ReverseProxy:Routes:cookies:Match:Path"] = "/cookie-api/{**rest}";
        routes["ReverseProxy:Routes:cookies:Metadata:Bff.SetCookie"] = "Allow";
        routes["ReverseProxy:Routes:cookies:Transforms:0:PathPattern"] = "/api/{**rest}";
    }

    public static Dictionary<string, string?> RouteSettings(Uri upstream)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ReverseProxy:Clusters:api:Destinations:main:Address"] = upstream.ToString(),
        };
        foreach (var (id, (path, metadata)) in StandardRoutes)
        {
            settings[$"ReverseProxy:Routes:{id}:ClusterId"] = "api";
            settings[$"ReverseProxy:Routes:{id}:Match:Path"] = path;
            foreach (var (key, value) in metadata)
            {
                settings[$"ReverseProxy:Routes:{id}:Metadata:{key}"] = value;
            }
        }

        return settings;
    }

    public BrowserClient CreateBrowser() => _kestrel
        ? new BrowserClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }, Address!)
        : Gateway.CreateBrowser();

    /// <summary>A signed-in browser whose session is put straight into the store (no sign-in round trip).</summary>
    public async Task<(BrowserClient Browser, UserSession Session)> SignedInBrowserAsync(
        string subject = "alice", TimeSpan? tokenLifetime = null, bool withRefreshToken = true, IEnumerable<SessionClaim>? claims = null)
    {
        var now = Time.GetUtcNow();
        var session = new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            Claims = [new SessionClaim("sub", subject), .. claims ?? []],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = Idp.NewAccessToken(subject),
                AccessTokenExpiresAt = now + (tokenLifetime ?? TimeSpan.FromHours(1)),
                RefreshToken = withRefreshToken ? Idp.NewRefreshToken(subject) : null,
            },
        };
        await Store.CreateAsync(session, CancellationToken.None);
        var browser = CreateBrowser();
        browser.PutCookie(CookieName, session.Key);
        return (browser, session);
    }

    public UserSession? StoredSession(string key) =>
        Store.FindAsync(key, CancellationToken.None).AsTask().Result.Session;

    /// <summary>
    /// A plain client for concurrent calls (the browser client is not thread-safe): sends the session cookie and the
    /// CSRF header on every request.
    /// </summary>
    public HttpClient CreateApiClient(string? sessionKey)
    {
        var client = _kestrel
            ? new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Address }
            : new HttpClient(Gateway.Server.CreateHandler()) { BaseAddress = new Uri("https://localhost") };
        client.DefaultRequestHeaders.Add("X-CSRF", "1");
        if (sessionKey is not null)
        {
            client.DefaultRequestHeaders.Add("Cookie", CookieName + "=" + sessionKey);
        }

        return client;
    }

    /// <summary>Token-endpoint calls of one grant type.</summary>
    public IReadOnlyList<Dictionary<string, string>> TokenRequests(string grantType) =>
        Idp.RequestsTo("/token").Select(TestIdentityProvider.Form).Where(f => f.GetValueOrDefault("grant_type") == grantType).ToList();

    public static async Task<ReceivedRequest> EchoAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 from the API, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<ReceivedRequest>())!;
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Api.DisposeAsync();
        Idp.Dispose();
    }
}
