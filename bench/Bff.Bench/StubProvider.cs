using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Bench;

/// <summary>
/// A fast OpenID provider for the storms, so that the provider is not what they measure: discovery, JWKS, an
/// authorization endpoint that signs every visitor in at once as a new user (no login form, no consent), a token
/// endpoint (authorization code, and refresh with one-time, rotating refresh tokens), revocation and end-session.
/// <para>
/// It answers on several ports, each its own issuer (<c>http://localhost:PORT/</c>): a gateway replica given its own
/// port as authority is then known by the port its token requests arrive on, so the refresh storm can tell which
/// replica refreshed a session and which ones waited. Refreshed tokens come without an ID token.
/// </para>
/// <para>
/// What it counts (exact, whatever the machine's load): codes redeemed, refreshes granted per port, and refresh
/// tokens presented a second time (a spent token: with a real provider the user's grant would be revoked).
/// </para>
/// </summary>
internal sealed class StubProvider : IAsyncDisposable
{
    public const string ClientId = "bff-bench";

    private readonly WebApplication _app;
    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "bench-1" };
    private readonly JsonWebTokenHandler _tokens = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Grant> _refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RefreshTiming> _refreshes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, int> _refreshesByPort = new();
    private int _users;
    private int _codesRedeemed;
    private int _refreshesGranted;
    private int _spentTokensPresented;

    private StubProvider(WebApplication app) => _app = app;

    /// <summary>When access tokens issued at sign-in expire (all together); null: an hour after issue.</summary>
    public DateTimeOffset? SignInTokensExpireAt { get; set; }

    /// <summary>How long the token endpoint takes to answer a refresh, as a real provider's round trip would.</summary>
    public TimeSpan RefreshDelay { get; set; }

    public IReadOnlyList<int> Ports { get; private set; } = [];

    public int CodesRedeemed => Volatile.Read(ref _codesRedeemed);

    public int RefreshesGranted => Volatile.Read(ref _refreshesGranted);

    public int SpentTokensPresented => Volatile.Read(ref _spentTokensPresented);

    public IReadOnlyDictionary<int, int> RefreshesByPort => _refreshesByPort;

    /// <summary>Per subject: the port its refresh arrived on, and when it arrived and was answered (Stopwatch timestamps).</summary>
    public IReadOnlyDictionary<string, RefreshTiming> Refreshes => _refreshes;

    public string Authority(int index = 0) => $"http://localhost:{Ports[index]}/";

    public static async Task<StubProvider> StartAsync(int ports)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            for (var i = 0; i < ports; i++)
            {
                kestrel.Listen(System.Net.IPAddress.Loopback, 0);
            }
        });
        var app = builder.Build();
        var provider = new StubProvider(app);
        app.MapGet("/.well-known/openid-configuration", provider.Discovery);
        app.MapGet("/jwks", provider.Jwks);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", (Delegate)provider.TokenAsync);
        app.MapPost("/revoke", () => Results.Ok());
        app.MapGet("/endsession", () => Results.Ok());
        await app.StartAsync();
        provider.Ports = [.. app.Urls.Select(url => new Uri(url).Port)];
        return provider;
    }

    /// <summary>Runs on its own (<c>Bff.Bench provider</c>) until stopped, printing its authority.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        await using var provider = await StartAsync(Args.Parse(args).Int("ports", 1));
        foreach (var port in provider.Ports)
        {
            Console.WriteLine($"authority=http://localhost:{port}/");
        }

        await provider._app.WaitForShutdownAsync();
        return 0;
    }

    private static string Issuer(HttpRequest request) => $"http://localhost:{request.Host.Port}/";

    private IResult Discovery(HttpRequest request)
    {
        var issuer = Issuer(request);
        return Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["authorization_endpoint"] = issuer + "authorize",
            ["token_endpoint"] = issuer + "token",
            ["jwks_uri"] = issuer + "jwks",
            ["revocation_endpoint"] = issuer + "revoke",
            ["end_session_endpoint"] = issuer + "endsession",
            ["response_types_supported"] = new[] { "code" },
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["grant_types_supported"] = new[] { "authorization_code", "refresh_token" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post" },
            ["scopes_supported"] = new[] { "openid", "profile", "email", "offline_access" },
        });
    }

    private IResult Jwks()
    {
        var parameters = _key.Rsa.ExportParameters(false);
        return Results.Json(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = _key.KeyId, n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
    }

    /// <summary>Signs the visitor in as a new user and sends them back with a code; the subject is in a response header for the driver.</summary>
    private IResult Authorize(HttpContext context)
    {
        var query = context.Request.Query;
        var subject = "user-" + Interlocked.Increment(ref _users).ToString(CultureInfo.InvariantCulture);
        var code = NewSecret();
        _codes[code] = new Grant(subject, query["nonce"].ToString(), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        context.Response.Headers["X-Bench-Subject"] = subject;
        var separator = query["redirect_uri"].ToString().Contains('?', StringComparison.Ordinal) ? '&' : '?';
        return Results.Redirect($"{query["redirect_uri"]}{separator}code={code}&state={Uri.EscapeDataString(query["state"].ToString())}&iss={Uri.EscapeDataString(Issuer(context.Request))}");
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        switch (form["grant_type"].ToString())
        {
            case "authorization_code" when _codes.TryRemove(form["code"].ToString(), out var grant):
            {
                Interlocked.Increment(ref _codesRedeemed);
                var now = DateTimeOffset.UtcNow;
                var expiresIn = SignInTokensExpireAt is { } at ? Math.Max(1, (int)(at - now).TotalSeconds) : 3600;
                return Results.Json(Tokens(grant, expiresIn, IdToken(grant, Issuer(context.Request), now)));
            }

            case "refresh_token":
            {
                var arrived = Stopwatch.GetTimestamp();
                if (!_refreshTokens.TryRemove(form["refresh_token"].ToString(), out var grant))
                {
                    Interlocked.Increment(ref _spentTokensPresented);
                    return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
                }

                if (RefreshDelay > TimeSpan.Zero)
                {
                    await Task.Delay(RefreshDelay);
                }

                var port = context.Request.Host.Port ?? 0;
                Interlocked.Increment(ref _refreshesGranted);
                _refreshesByPort.AddOrUpdate(port, 1, static (_, count) => count + 1);
                _refreshes[grant.Subject] = new RefreshTiming(port, arrived, Stopwatch.GetTimestamp());
                return Results.Json(Tokens(grant, 3600, idToken: null));
            }

            default:
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }
    }

    private Dictionary<string, object> Tokens(Grant grant, int expiresIn, string? idToken)
    {
        var refreshToken = NewSecret();
        _refreshTokens[refreshToken] = grant;
        var response = new Dictionary<string, object>
        {
            ["access_token"] = NewSecret() + NewSecret(),
            ["token_type"] = "Bearer",
            ["expires_in"] = expiresIn,
            ["refresh_token"] = refreshToken,
            ["scope"] = "openid profile email offline_access",
        };
        if (idToken is not null)
        {
            response["id_token"] = idToken;
        }

        return response;
    }

    private string IdToken(Grant grant, string issuer, DateTimeOffset now) => _tokens.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = issuer,
        Audience = ClientId,
        IssuedAt = now.UtcDateTime,
        NotBefore = now.AddMinutes(-1).UtcDateTime,
        Expires = now.AddMinutes(10).UtcDateTime,
        Claims = new Dictionary<string, object>
        {
            ["sub"] = grant.Subject,
            ["nonce"] = grant.Nonce,
            ["sid"] = grant.ProviderSessionId,
            ["name"] = "Bench User",
            ["email"] = grant.Subject + "@example.com",
        },
        SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
    });

    private static string NewSecret() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _key.Rsa.Dispose();
    }

    private sealed record Grant(string Subject, string Nonce, string ProviderSessionId);
}

/// <summary>One session's refresh at the provider: the port (replica) it came from, when it arrived and when it was answered.</summary>
internal readonly record struct RefreshTiming(int Port, long Arrived, long Answered);
