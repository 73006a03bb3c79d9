using System.Security.Claims;
using System.Security.Cryptography;
using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Logout;
using Bff.Demo.Identity.Provider;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Bff.Demo.Identity.Account;

/// <summary>The provider's own pages: the login form and "sign out everywhere". Its session is a cookie on the provider's host.</summary>
internal static class AccountEndpoints
{
    public const string LoginScheme = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string SessionIdClaim = "sid";

    /// <summary>When the user typed their password (Unix seconds): the ID token's <c>auth_time</c>, checked against <c>max_age</c>.</summary>
    public const string AuthTimeClaim = "auth_time";

    public static IServiceCollection AddDemoAccounts(this IServiceCollection services)
    {
        services.AddSingleton<DemoUsers>();
        services.AddSingleton<ConsentStore>();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "demo-idp.antiforgery";
            options.Cookie.SameSite = SameSiteMode.Strict;
        });
        services.AddAuthentication(LoginScheme).AddCookie(LoginScheme, options =>
        {
            options.Cookie.Name = "demo-idp.session";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Lax;
            options.LoginPath = "/account/login";
            options.LogoutPath = "/account/logout";
            options.ReturnUrlParameter = "returnUrl";
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = false;
        });
        return services;
    }

    public static IEndpointRouteBuilder MapDemoAccounts(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", (Delegate)Home);
        endpoints.MapGet("/account/login", ShowLogin);
        endpoints.MapPost("/account/login", Login).DisableAntiforgery(); // validated explicitly below
        endpoints.MapGet("/account/logout", ConfirmLogout);
        endpoints.MapPost("/account/logout", Logout).DisableAntiforgery();
        return endpoints;
    }

    private static async Task<IResult> Home(HttpContext http)
    {
        var login = await http.AuthenticateAsync(LoginScheme);
        return Pages.Home(login.Principal?.FindFirstValue("name"));
    }

    private static IResult ShowLogin(HttpContext http, IAntiforgery antiforgery, string? returnUrl) =>
        Pages.Login(antiforgery.GetAndStoreTokens(http), SafeReturnUrl(returnUrl), userName: null, error: null);

    private static async Task<IResult> Login(HttpContext http, IAntiforgery antiforgery, DemoUsers users)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Pages.Error("The form expired. Go back to the application and sign in again.", StatusCodes.Status400BadRequest);
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var returnUrl = SafeReturnUrl(form["returnUrl"]);
        var user = users.Verify(form["username"], form["password"]);
        if (user is null)
        {
            return Pages.Login(antiforgery.GetAndStoreTokens(http), returnUrl, form["username"], "Unknown user name or wrong password.");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim("sub", user.Subject),
                new Claim("name", user.Name),
                new Claim("preferred_username", user.UserName),
                new Claim("email", user.Email),
                new Claim(SessionIdClaim, Convert.ToHexString(RandomNumberGenerator.GetBytes(16))),
                new Claim(AuthTimeClaim, DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer64),
            ],
            LoginScheme,
            "name",
            "role");
        await http.SignInAsync(LoginScheme, new ClaimsPrincipal(identity));
        return Results.LocalRedirect(returnUrl);
    }

    private static async Task<IResult> ConfirmLogout(HttpContext http, IAntiforgery antiforgery)
    {
        var login = await http.AuthenticateAsync(LoginScheme);
        return login.Principal is { } user
            ? Pages.ConfirmLogout(antiforgery.GetAndStoreTokens(http), user.FindFirstValue("name") ?? "?")
            : Pages.SignedOut();
    }

    /// <summary>Provider-initiated logout: every client that took part in this login session gets a back-channel logout.</summary>
    private static async Task<IResult> Logout(HttpContext http, IAntiforgery antiforgery, BackchannelLogout backchannel, IssuerResolver issuer, DemoStats stats)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Pages.Error("The form expired. Reload the page and try again.", StatusCodes.Status400BadRequest);
        }

        var login = await http.AuthenticateAsync(LoginScheme);
        await http.SignOutAsync(LoginScheme);
        if (login.Principal?.FindFirstValue(SessionIdClaim) is { } sessionId && login.Principal.FindFirstValue("sub") is { } subject)
        {
            stats.ProviderLogout();
            await backchannel.EndSessionAsync(issuer.Resolve(http), sessionId, subject, http.RequestAborted);
        }

        return Pages.SignedOut();
    }

    /// <summary>Only the authorization endpoint is a place worth returning to after login.</summary>
    private static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is not null && returnUrl.StartsWith("/connect/authorize?", StringComparison.Ordinal) && !returnUrl.Contains('\\', StringComparison.Ordinal)
            ? returnUrl
            : "/";
}
