using System.Net;
using System.Text;
using System.Text.Json;
using Bff.Tests.Infrastructure;

namespace Bff.Tests.Observability;

/// <summary>
/// Runs whole user journeys with every log level on and OpenTelemetry exporting, then looks for every secret that
/// passed through the gateway in every exported span, metric and log line, and in every line the host logged.
/// To cover a new journey (token refresh through the proxy, back-channel logout), add a step to <see cref="Journey"/>
/// that drives it and records the secrets it involves with <see cref="Secrets.Add"/>.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public sealed class TelemetryLeakTests
{
    /// <summary>What an operator could switch on: every log level (GatewayFactory logs at Trace) and the instrumentation libraries' own query redaction off.</summary>
    private static readonly Dictionary<string, string?> WorstCaseSettings = new()
    {
        ["OTEL_DOTNET_EXPERIMENTAL_ASPNETCORE_DISABLE_URL_QUERY_REDACTION"] = "true",
        ["OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION"] = "true",
        ["Logging:LogLevel:Default"] = "Trace",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task No_secret_reaches_spans_metrics_or_logs_across_login_user_and_logout(bool pushedAuthorization)
    {
        using var idp = new TestIdentityProvider(advertisePar: pushedAuthorization);
        var telemetry = new TelemetryCapture();
        var secrets = new Secrets();
        var gateway = new GatewayFactory(idp, WorstCaseSettings, services: telemetry.Register);
        try
        {
            using var browser = gateway.CreateBrowser();
            await Journey(idp, browser, secrets);
        }
        finally
        {
            // Stopping the host flushes the OpenTelemetry providers: the metrics are exported only now.
            gateway.Dispose();
        }

        Assert.True(telemetry.Spans.Count > 0, "No span was exported.");
        Assert.True(telemetry.Metrics.Count > 0, "No metric was exported.");
        Assert.True(telemetry.Logs.Count > 0, "No log record was exported.");
        var channels = new Dictionary<string, string>
        {
            ["exported spans"] = telemetry.SpansText(),
            ["exported metrics"] = telemetry.MetricsText(),
            ["exported logs"] = telemetry.LogsText(),
            ["host log lines (Trace)"] = gateway.Logs.AllText,
        };
        foreach (var (channel, text) in channels)
        {
            foreach (var (name, value) in secrets.All)
            {
                Assert.False(text.Contains(value, StringComparison.Ordinal), $"The {name} appears in the {channel}.");
            }
        }

        // The request URLs were logged and traced, with their query values blanked (so the check above is not vacuous).
        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", gateway.Logs.AllText, StringComparison.Ordinal);
        Assert.Contains("/signin-oidc?code=Redacted&state=Redacted", telemetry.LogsText(), StringComparison.Ordinal);
        Assert.Contains("code=Redacted", telemetry.SpansText(), StringComparison.Ordinal);
    }

    /// <summary>Sign-in, the user endpoint, logout and the provider's return; records every secret on the way.</summary>
    private static async Task Journey(TestIdentityProvider idp, BrowserClient browser, Secrets secrets)
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
    private sealed class Secrets
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
