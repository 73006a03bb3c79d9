using System.Net;
using System.Text.Json;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Endpoints;

/// <summary>
/// "Sign out my other devices": the signed-in user lists their sessions (this one marked), ends one of the others or
/// all of them, with X-CSRF as /bff/user. Nothing in the answers identifies a session to anyone else (no cookie
/// value, no store id, no token), and a user can end no session but their own.
/// </summary>
public sealed class SessionsEndpointTests : IDisposable
{
    private const string Firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

    private readonly TestIdentityProvider _idp = new();
    private readonly GatewayFactory _gateway;
    private readonly List<BrowserClient> _browsers = [];

    public SessionsEndpointTests() => _gateway = new GatewayFactory(_idp);

    public void Dispose()
    {
        _browsers.ForEach(b => b.Dispose());
        _gateway.Dispose();
        _idp.Dispose();
    }

    [Fact]
    public async Task The_list_shows_each_of_my_sessions_with_this_one_marked_and_nothing_that_identifies_them()
    {
        var laptop = await SignedInAsync("alice", Firefox);
        var phone = await SignedInAsync("alice", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1");
        var bob = await SignedInAsync("bob", Firefox);

        var response = await laptop.GetWithCsrfAsync("/bff/sessions");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadAsStringAsync();
        var sessions = JsonDocument.Parse(body).RootElement.GetProperty("sessions").EnumerateArray().ToArray();
        Assert.Equal(2, sessions.Length);
        Assert.Equal([true, false], sessions.Select(s => s.GetProperty("current").GetBoolean()));
        Assert.Equal(["Firefox on Windows", "Safari on iOS"], sessions.Select(s => s.GetProperty("device").GetString()));
        Assert.All(sessions, s => Assert.Matches("^[A-Za-z0-9_-]{22}$", s.GetProperty("handle").GetString()));
        Assert.All(sessions, s => Assert.True(s.GetProperty("createdAt").GetDateTimeOffset() <= s.GetProperty("lastUsedAt").GetDateTimeOffset()));
        Assert.All(sessions, s => Assert.True(s.GetProperty("expiresAt").GetDateTimeOffset() <= s.GetProperty("absoluteExpiresAt").GetDateTimeOffset()));
        foreach (var secret in new[] { Cookie(laptop), Cookie(phone), Cookie(bob), SessionKey.Hash(Cookie(laptop)), SessionKey.Hash(Cookie(phone)), "rt.", "at.", "Firefox/133", "bob" })
        {
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Ending_one_of_my_other_sessions_signs_that_browser_out_and_revokes_its_refresh_token()
    {
        using var ended = new CounterTotals(_gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.SessionEndReason);
        var laptop = await SignedInAsync("alice");
        var phone = await SignedInAsync("alice");
        var tablet = await SignedInAsync("alice");
        var handles = await HandlesAsync(laptop);

        var response = await DeleteAsync(laptop, "/bff/sessions/" + handles[1]);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await tablet.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await laptop.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Single(_idp.RequestsTo("/revoke"));
        Assert.Equal(1, ended[Instruments.SessionsEnded, SessionEndReasons.Revoked]);
        Assert.Contains(_gateway.Logs.Lines, l => l.EventId.Id == 1002 && l.Message.Contains("(revoked)", StringComparison.Ordinal));
        Assert.Equal([handles[0], handles[2]], await HandlesAsync(laptop));
    }

    [Fact]
    public async Task Ending_all_my_other_sessions_keeps_this_one_and_other_users_signed_in()
    {
        var laptop = await SignedInAsync("alice");
        var others = new[] { await SignedInAsync("alice"), await SignedInAsync("alice") };
        var bob = await SignedInAsync("bob");

        var response = await DeleteAsync(laptop, "/bff/sessions");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("ended").GetInt32());
        foreach (var other in others)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetWithCsrfAsync("/bff/user")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await laptop.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(2, _idp.RequestsTo("/revoke").Count());
    }

    [Fact]
    public async Task Another_users_handle_or_this_sessions_own_handle_ends_nothing()
    {
        var alice = await SignedInAsync("alice");
        var bob = await SignedInAsync("bob");
        var bobsHandle = (await HandlesAsync(bob)).Single();
        var ownHandle = (await HandlesAsync(alice)).Single();

        var foreign = await DeleteAsync(alice, "/bff/sessions/" + bobsHandle);
        var own = await DeleteAsync(alice, "/bff/sessions/" + ownHandle);
        var junk = await DeleteAsync(alice, "/bff/sessions/" + new string('A', 22));

        Assert.Equal((HttpStatusCode.NotFound, "session_not_found"), (foreign.StatusCode, await ErrorAsync(foreign)));
        Assert.Equal((HttpStatusCode.Conflict, "current_session"), (own.StatusCode, await ErrorAsync(own)));
        Assert.Equal((HttpStatusCode.NotFound, "session_not_found"), (junk.StatusCode, await ErrorAsync(junk)));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Empty(_idp.RequestsTo("/revoke"));
    }

    [Theory]
    [InlineData("GET", "/bff/sessions")]
    [InlineData("DELETE", "/bff/sessions")]
    [InlineData("DELETE", "/bff/sessions/AAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Without_the_CSRF_header_or_a_session_nothing_is_listed_or_ended(string method, string path)
    {
        var alice = await SignedInAsync("alice");
        var other = await SignedInAsync("alice");

        var noHeader = await alice.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var noSession = await Browser().SendAsync(new HttpRequestMessage(new HttpMethod(method), path), new Dictionary<string, string> { ["X-CSRF"] = "1" });

        Assert.Equal((HttpStatusCode.Unauthorized, "csrf_header_missing"), (noHeader.StatusCode, await ErrorAsync(noHeader)));
        Assert.Equal((HttpStatusCode.Unauthorized, "unauthenticated"), (noSession.StatusCode, await ErrorAsync(noSession)));
        Assert.Equal(HttpStatusCode.OK, (await other.GetWithCsrfAsync("/bff/user")).StatusCode);
    }

    private BrowserClient Browser()
    {
        var browser = _gateway.CreateBrowser();
        _browsers.Add(browser);
        return browser;
    }

    private async Task<BrowserClient> SignedInAsync(string subject, string? userAgent = null)
    {
        var browser = Browser();
        browser.UserAgent = userAgent;
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(_idp, subject: subject)).StatusCode);
        return browser;
    }

    private static string Cookie(BrowserClient browser) => browser.CookieValue("__Host-bff")!;

    private static async Task<string[]> HandlesAsync(BrowserClient browser)
    {
        var body = await (await browser.GetWithCsrfAsync("/bff/sessions")).Content.ReadAsStringAsync();
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("sessions").EnumerateArray().Select(s => s.GetProperty("handle").GetString()!)];
    }

    private static Task<HttpResponseMessage> DeleteAsync(BrowserClient browser, string path) =>
        browser.SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), new Dictionary<string, string> { ["X-CSRF"] = "1" });

    private static async Task<string?> ErrorAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
}
