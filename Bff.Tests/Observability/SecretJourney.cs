using System.Net;
using System.Text;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// A user's whole visit, driven like a browser, recording every secret that passes through the gateway: the
/// authorization code, state, PKCE verifier, PAR request_uri, the access, refresh and ID tokens (as issued at sign-in
/// and by the refresh), the client secret, the logout token and every cookie value. Leak tests look for these in
/// whatever the gateway emitted. Extend it when a feature adds a journey.
/// </summary>
internal static class SecretJourney
{
    /// <summary>Short-lived access tokens, as the refresh path sees them.</summary>
    private static readonly TimeSpan ShortTokenLifetime = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The gateway's configuration for the journey's API route (<c>/api/{**rest}</c>, the user's token for its own scope,
    /// CSRF header required) to <paramref name="upstream"/>, with keys joined by <paramref name="separator"/> (<c>:</c>
    /// for configuration, <c>__</c> for environment variables). The route's scope makes its first call spend the
    /// session's refresh token at once (a freshly issued token is never inside its refresh window, which is at most
    /// half its lifetime).
    /// </summary>
    public static Dictionary<string, string?> ApiRoute(Uri upstream, string separator = ":")
    {
        string Key(params string[] parts) => string.Join(separator, parts);
        return new Dictionary<string, string?>
        {
            [Key("ReverseProxy", "Clusters", "journey-api", "Destinations", "main", "Address")] = upstream.ToString(),
            [Key("ReverseProxy", "Routes", "journey-api", "ClusterId")] = "journey-api",
            [Key("ReverseProxy", "Routes", "journey-api", "Match", "Path")] = "/api/{**rest}",
            [Key("ReverseProxy", "Routes", "journey-api", "Metadata", "Bff.Scope")] = "orders.read",
        };
    }

    /// <summary>
    /// Sign-in, the user endpoint, an API call that refreshes the tokens, logout and the provider's return, then a
    /// second sign-in ended by a back-channel logout; records every secret on the way. The gateway must have the
    /// <see cref="ApiRoute"/> to a running API.
    /// </summary>
    public static async Task RunAsync(TestIdentityProvider idp, BrowserClient browser, Secrets secrets)
    {
        idp.AccessTokenLifetime = ShortTokenLifetime;
        await SignInAsync(idp, browser, secrets, providerSessionId: null);

        // The user endpoint, with and without the CSRF header.
        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/bff/user")).StatusCode);
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var logoutUrl = json.RootElement.GetProperty("logoutUrl").GetString()!;

        // An API call through the proxy: the route's scope needs its own token, so the gateway spends the refresh
        // token, receives new tokens (a rotated refresh token among them) and forwards the new access token. Without
        // the CSRF header: refused.
        var api = await browser.GetWithCsrfAsync("/api/orders?tab=open");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        Assert.Equal(1, idp.RefreshRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/orders")).StatusCode);

        // Logout: session removed, refresh token revoked, then the provider's end-session redirect with id_token_hint.
        var logout = await browser.GetAsync(logoutUrl + "&returnUrl=%2Fbye");
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);
        var endSession = System.Web.HttpUtility.ParseQueryString(logout.Headers.Location!.Query);
        Assert.False(string.IsNullOrEmpty(endSession["id_token_hint"]));
        secrets.Add("logout state", endSession["state"]!);
        secrets.AddCookies(browser);
        var revocation = TestIdentityProvider.Form(idp.RequestsTo("/revoke").Last());
        secrets.Add("revoked token", revocation["token"]);

        // The provider sends the browser back.
        var signedOut = await browser.GetAsync("/signout-callback-oidc?state=" + Uri.EscapeDataString(endSession["state"]!));
        Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);

        // Signed in again, then the provider ends that provider session over the back channel.
        var providerSessionId = "sid-" + Guid.NewGuid().ToString("N");
        await SignInAsync(idp, browser, secrets, providerSessionId);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);
        var logoutToken = idp.CreateLogoutToken("alice", providerSessionId);
        secrets.Add("logout token", logoutToken);
        secrets.Add("logout token signature", logoutToken[(logoutToken.LastIndexOf('.') + 1)..]);
        using var backchannel = new HttpRequestMessage(HttpMethod.Post, "/bff/backchannel")
        {
            Content = new FormUrlEncodedContent([new("logout_token", logoutToken)]),
        };
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(backchannel)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetWithCsrfAsync("/bff/user")).StatusCode);

        // A forged session cookie is logged as a hash, never as itself.
        var forged = new string('A', 43);
        browser.PutCookie("__Host-bff", forged);
        await browser.GetWithCsrfAsync("/bff/user");
        secrets.Add("forged session cookie", forged);

        // Every token the provider issued: at both sign-ins and by the refresh.
        Assert.Equal(3, idp.RequestsTo("/token").Count());
        secrets.AddTokenResponses(idp);
    }

    /// <summary>Sign-in: the authorize redirect (or the PAR request_uri), the provider's code, the callback.</summary>
    private static async Task SignInAsync(TestIdentityProvider idp, BrowserClient browser, Secrets secrets, string? providerSessionId)
    {
        var authorize = await browser.StartSignInAsync(idp, "/orders?tab=open");
        secrets.Add("state", authorize.State);
        secrets.AddCookies(browser);
        if (authorize.Parameters.TryGetValue("request_uri", out var requestUri))
        {
            secrets.Add("PAR request_uri", requestUri);
        }

        var query = System.Web.HttpUtility.ParseQueryString(authorize.Location.Query);
        if (query["request_uri"] is { } pushedUri)
        {
            secrets.Add("PAR request_uri", pushedUri);
        }

        var code = idp.IssueCode(authorize.Nonce, shape: providerSessionId is null ? null : s => s.ProviderSessionId = providerSessionId);
        secrets.Add("authorization code", code);
        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(code, authorize.State));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        var tokenRequest = TestIdentityProvider.Form(idp.RequestsTo("/token").Last());
        secrets.Add("code_verifier", tokenRequest["code_verifier"]);
        secrets.AddTokenResponses(idp);
        secrets.AddClientSecret();
        secrets.AddCookies(browser);
    }

    /// <summary>The values that must never be exported or logged, with a name for the failure message.</summary>
    public sealed class Secrets
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public IEnumerable<KeyValuePair<string, string>> All => _values;

        /// <summary>Records a secret under a name; a second value under a name already used gets a numbered name.</summary>
        public void Add(string name, string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                return;
            }

            if (_values.TryGetValue(name, out var known) && !string.Equals(known, value, StringComparison.Ordinal))
            {
                var n = 2;
                while (_values.ContainsKey($"{name} #{n}"))
                {
                    n++;
                }

                name = $"{name} #{n}";
            }

            // Also every encoding the value could be logged in.
            _values.TryAdd(name, value);
            _values.TryAdd(name + " (URL-encoded)", Uri.EscapeDataString(value));
            _values.TryAdd(name + " (form-encoded)", System.Web.HttpUtility.UrlEncode(value));
        }

        /// <summary>The tokens of every token-endpoint response so far (code redemptions and refreshes), numbered in order.</summary>
        public void AddTokenResponses(TestIdentityProvider idp)
        {
            var response = 0;
            foreach (var entry in idp.Server.LogEntries.Where(e => e.RequestMessage.Path == "/token"))
            {
                response++;
                var body = entry.ResponseMessage.BodyData?.BodyAsString;
                if (body is null)
                {
                    continue;
                }

                using var json = JsonDocument.Parse(body);
                foreach (var property in new[] { "access_token", "refresh_token", "id_token" })
                {
                    if (json.RootElement.TryGetProperty(property, out var token))
                    {
                        var value = token.GetString()!;
                        var name = $"{property} from token response {response}";
                        Add(name, value);
                        if (property == "id_token")
                        {
                            // The signature alone identifies the token as well.
                            Add($"id_token signature from token response {response}", value[(value.LastIndexOf('.') + 1)..]);
                        }
                    }
                }
            }
        }

        public void AddClientSecret()
        {
            Add("client secret", TestIdentityProvider.ClientSecret);
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{TestIdentityProvider.ClientId}:{TestIdentityProvider.ClientSecret}"));
            Add("client credentials (Basic)", basic);
        }

        /// <summary>
        /// Every cookie the browser holds now (correlation and nonce cookies during sign-in, then the session cookie):
        /// its value and, for the sign-in cookies, the part of the name after the configured prefix, which carries the
        /// protected nonce or the correlation id (the value of the nonce cookie is a marker, "N").
        /// </summary>
        public void AddCookies(BrowserClient browser)
        {
            foreach (var cookie in browser.Cookies)
            {
                if (cookie.Value.Length >= 16)
                {
                    Add($"value of cookie {cookie.Name}", cookie.Value);
                }

                var dot = cookie.Name.LastIndexOf('.');
                if (dot >= 0 && cookie.Name.Length - dot - 1 >= 16)
                {
                    Add($"name of cookie {cookie.Name[..dot]}.…", cookie.Name[(dot + 1)..]);
                }
            }
        }
    }
}
