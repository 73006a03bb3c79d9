using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;

namespace Bff.Authentication;

/// <summary>
/// The sign-in cookies are <c>__Host-</c> (Path=/), so every request to the gateway carries those of every sign-in the
/// browser started and never finished (a few hundred bytes each). Past a few, a new sign-in removes the old ones:
/// their tabs, if they ever come back, get the stale-callback restart. This keeps the Cookie header far below the
/// 8 KB a common ingress accepts per header line.
/// </summary>
internal static class PendingSignIns
{
    /// <summary>Unfinished sign-ins a browser may carry when it starts another one.</summary>
    public const int MaxPending = 3;

    public static void Limit(HttpContext http)
    {
        var pending = 0;
        foreach (var name in http.Request.Cookies.Keys)
        {
            if (name.StartsWith(OidcOptionsSetup.CorrelationCookiePrefix, StringComparison.Ordinal))
            {
                pending++;
            }
        }

        if (pending > MaxPending)
        {
            var options = http.RequestServices.GetRequiredService<IOptionsMonitor<OpenIdConnectOptions>>()
                .Get(OpenIdConnectDefaults.AuthenticationScheme);
            OidcEvents.DeleteSignInCookies(http, options);
        }
    }
}
