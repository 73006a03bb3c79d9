using System.Net;
using System.Text;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// A user's whole visit, driven like a browser, recording every secret that passes through the gateway: the
/// authorization code, state, PKCE verifier, PAR request_uri, the access, refresh and ID tokens, the client secret and
/// every cookie value. Leak tests look for these in whatever the gateway emitted. Extend it when a feature adds a
/// journey (a proxied call that refreshes tokens, a back-channel logout).
/// </summary>
internal static class SecretJourney
{
    /// <summary>Sign-in, the user endpoint, logout and the provider's return; records every secret on the way.</summary>
    public static async Task RunAsync(TestIdentityProvider idp, BrowserClient browser, Secrets secrets)
    {
        // Sign-in: the authorize redirect (or the PAR request_uri), the provider's code, the callback.
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

        var code = idp.IssueCode(authorize.Nonce);
        secrets.Add("authorization code", code);
        var callback = await browser.GetAsync(BrowserClient.CallbackUrl(code, authorize.State));
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);

        var tokenRequest = TestIdentityProvider.Form(idp.RequestsTo("/token").Last());
        secrets.Add("code_verifier", tokenRequest["code_verifier"]);
        secrets.AddTokenResponses(idp);
        secrets.AddClientSecret();
        secrets.AddCookies(browser);

        // The user endpoint, with and without the CSRF header.
        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/bff/user")).StatusCode);
        using var json = JsonDocument.Parse(await user.Content.ReadAsStringAsync());
        var logoutUrl = json.RootElement.GetProperty("logoutUrl").GetString()!;

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

        // A forged session cookie is logged as a hash, never as itself.
        var forged = new string('A', 43);
        browser.PutCookie("__Host-bff", forged);
        await browser.GetWithCsrfAsync("/bff/user");
        secrets.Add("forged session cookie", forged);
    }

    /// <summary>The values that must never be exported or logged, with a name for the failure message.</summary>
    public sealed class Secrets
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public IEnumerable<KeyValuePair<string, string>> All => _values;

        public void Add(string name, string? value)
        {
            if (string.IsNullOrEmpty(value))
            {
                return;
            }

            // Also every encoding the value could be logged in.
            _values.TryAdd(name, value);
            _values.TryAdd(name + " (URL-encoded)", Uri.EscapeDataString(value));
            _values.TryAdd(name + " (form-encoded)", System.Web.HttpUtility.UrlEncode(value));
        }

        public void AddTokenResponses(TestIdentityProvider idp)
        {
            foreach (var entry in idp.Server.LogEntries.Where(e => e.RequestMessage.Path == "/token"))
            {
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
                        Add(property, value);
                        if (property == "id_token")
                        {
                            // The signature alone identifies the token as well.
                            Add("id_token signature", value[(value.LastIndexOf('.') + 1)..]);
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

        /// <summary>Every cookie the browser holds now (correlation and nonce cookies during sign-in, then the session cookie).</summary>
        public void AddCookies(BrowserClient browser)
        {
            foreach (var cookie in browser.Cookies)
            {
                // The nonce cookie's value is a marker ("N"); its protected nonce is in the name, which is not a secret.
                if (cookie.Value.Length >= 16)
                {
                    Add($"value of cookie {cookie.Name}", cookie.Value);
                }
            }
        }
    }
}
