using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Bench;

/// <summary>
/// The sign-in wave's baseline: a plain ASP.NET Core app with the stock OpenID Connect and cookie handlers doing the
/// same sign-in as the gateway (authorization code + PKCE, confidential client, ID token validated, refresh token
/// requested), keeping the tokens the way such an app does (<c>SaveTokens</c>: in its encrypted cookie). No session
/// store, no claim mapping, no rate limit, no security event log: what the gateway adds is the difference.
/// </summary>
internal static class BaselineOidcApp
{
    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var authority = builder.Configuration["authority"] ?? throw new InvalidOperationException("--authority URL is required.");
        var clientSecret = Environment.GetEnvironmentVariable("BENCH_CLIENT_SECRET") ?? "bench-secret";
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddAuthentication(options =>
            {
                options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
            })
            .AddCookie(options =>
            {
                options.Cookie.Name = "__Host-app";
                options.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                options.Cookie.SameSite = SameSiteMode.Strict;
            })
            .AddOpenIdConnect(options =>
            {
                options.Authority = authority;
                options.RequireHttpsMetadata = false;
                options.ClientId = StubProvider.ClientId;
                options.ClientSecret = clientSecret;
                options.ResponseType = OpenIdConnectResponseType.Code;
                options.ResponseMode = OpenIdConnectResponseMode.Query;
                options.UsePkce = true;
                options.SaveTokens = true;
                options.MapInboundClaims = false;
                options.GetClaimsFromUserInfoEndpoint = false;
                options.Scope.Clear();
                foreach (var scope in new[] { "openid", "profile", "email", "offline_access" })
                {
                    options.Scope.Add(scope);
                }
            });
        var app = builder.Build();
        app.UseAuthentication();
        app.MapGet("/login", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/" }));
        app.MapGet("/", () => Results.Text("ok"));
        await app.RunAsync();
        return 0;
    }
}
