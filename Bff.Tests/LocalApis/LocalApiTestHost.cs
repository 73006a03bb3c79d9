using Bff.Provider;
using System.Net;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Bff.Tests.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Bff.Tests.LocalApis;

/// <summary>
/// An application of a team's own that embeds the gateway through its public surface only (AddBff, UseBff, MapBff),
/// with local API endpoints guarded by RequireBffSession, next to the proxy's standard routes. In-process test server,
/// the stub provider, a real upstream API that the local endpoints call, and a <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class LocalApiTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalApiTestHost(WebApplication app, TestIdentityProvider idp, UpstreamApi api, FakeTimeProvider time, CapturingLoggerProvider logs)
    {
        _app = app;
        Logs = logs;
        Idp = idp;
        Api = api;
        Time = time;
    }

    public TestIdentityProvider Idp { get; }

    public UpstreamApi Api { get; }

    public FakeTimeProvider Time { get; }

    public CapturingLoggerProvider Logs { get; }

    public InMemorySessionStore Store => _app.Services.GetRequiredService<InMemorySessionStore>();

    public static async Task<LocalApiTestHost> StartAsync(
        Action<IServiceCollection>? services = null,
        Action<WebApplication>? endpoints = null,
        IDictionary<string, string?>? extraSettings = null)
    {
        var idp = new TestIdentityProvider();
        var api = await UpstreamApi.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseTestServer();
        var settings = ProxyTestHost.RouteSettings(api.Address);
        settings["Bff:Authority"] = idp.Authority;
        settings["Bff:ClientId"] = TestIdentityProvider.ClientId;
        settings["Bff:ClientSecret"] = TestIdentityProvider.ClientSecret;
        settings["Bff:RequireHttpsMetadata"] = "false";
        settings["Bff:PublicOrigin"] = "https://localhost";
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);

        // Captured for assertions, not printed.
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(logs);

        builder.AddBff();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddHttpClient("orders", client => client.BaseAddress = api.Address);
        builder.Services.AddControllers().AddApplicationPart(typeof(LocalMeController).Assembly);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        var host = new LocalApiTestHost(app, idp, api, time, logs);
        app.UseBff();
        app.MapBff();

        var local = app.MapGroup("/local").RequireBffSession();
        local.MapGet("/me", static (HttpContext context) => Results.Json(new
        {
            authenticated = context.User.Identity?.IsAuthenticated ?? false,
            sub = context.User.FindFirst("sub")?.Value,
        }));
        local.MapPost("/orders", static () => Results.Ok());
        local.MapGet("/orders", CallOrdersApiAsync);
        local.MapGet("/reports", static async (IBffAccessTokens tokens, IHttpClientFactory http) =>
        {
            var token = await tokens.GetClientAccessTokenAsync(resource: "https://reports.example.com");
            return token.Succeeded ? await CallApiAsync(http, token.AccessToken) : token.ToProblem();
        });

        app.MapControllers().RequireBffSession();
        endpoints?.Invoke(app);

        await app.StartAsync();
        return host;
    }

    /// <summary>What a team's own endpoint does: call its API with the signed-in user's token.</summary>
    private static async Task<IResult> CallOrdersApiAsync(HttpContext context, IBffAccessTokens tokens, IHttpClientFactory http)
    {
        var token = await tokens.GetUserAccessTokenAsync(context);
        return token.Succeeded ? await CallApiAsync(http, token.AccessToken) : token.ToProblem();
    }

    private static async Task<IResult> CallApiAsync(IHttpClientFactory http, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/orders");
        request.Headers.Authorization = new("Bearer", accessToken);
        using var response = await http.CreateClient("orders").SendAsync(request);
        return Results.Content(await response.Content.ReadAsStringAsync(), "application/json", statusCode: (int)response.StatusCode);
    }

    public BrowserClient CreateBrowser() => new(_app.GetTestServer().CreateHandler(), new Uri("https://localhost"));

    /// <summary>A signed-in browser whose session is put straight into the store (no sign-in round trip).</summary>
    public async Task<(BrowserClient Browser, UserSession Session)> SignedInBrowserAsync(
        string subject = "alice", TimeSpan? tokenLifetime = null, IEnumerable<SessionClaim>? claims = null)
    {
        var now = Time.GetUtcNow();
        var session = new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            Claims = [new SessionClaim("sub", subject), new SessionClaim("name", subject + " example"), .. claims ?? []],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = Idp.NewAccessToken(subject),
                AccessTokenExpiresAt = now + (tokenLifetime ?? TimeSpan.FromHours(1)),
                RefreshToken = Idp.NewRefreshToken(subject),
            },
        };
        await Store.CreateAsync(session, CancellationToken.None);
        var browser = CreateBrowser();
        browser.PutCookie(ProxyTestHost.CookieName, session.Key);
        return (browser, session);
    }

    public UserSession? StoredSession(string key) =>
        Store.FindAsync(key, CancellationToken.None).AsTask().Result.Session;

    /// <summary>A plain client for concurrent calls: the session cookie and the CSRF header on every request.</summary>
    public HttpClient CreateApiClient(string sessionKey)
    {
        var client = new HttpClient(_app.GetTestServer().CreateHandler()) { BaseAddress = new Uri("https://localhost") };
        client.DefaultRequestHeaders.Add("X-CSRF", "1");
        client.DefaultRequestHeaders.Add("Cookie", ProxyTestHost.CookieName + "=" + sessionKey);
        return client;
    }

    public static async Task<ReceivedRequest> EchoAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<ReceivedRequest>(response.Content))!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await Api.DisposeAsync();
        Idp.Dispose();
    }
}

/// <summary>A controller of the host's own, guarded with <c>MapControllers().RequireBffSession()</c>.</summary>
[Microsoft.AspNetCore.Mvc.ApiController]
[Microsoft.AspNetCore.Mvc.Route("/local/controller/me")]
public sealed class LocalMeController : Microsoft.AspNetCore.Mvc.ControllerBase
{
    [Microsoft.AspNetCore.Mvc.HttpGet]
    public Microsoft.AspNetCore.Mvc.IActionResult Get() => Ok(new { sub = User.FindFirst("sub")?.Value });
}
