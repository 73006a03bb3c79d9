using System.Net;
using System.Text.Json;
using Bff.Sessions;
using Bff.Tests.Proxy;

namespace Bff.Tests.Sessions;

/// <summary>
/// The in-memory store keeps a session as its compact record and drops the decoded form of sessions that go unread
/// for a sweep: a session that comes back after that is the same session, with the same token and claims, and the
/// rule that tokens never move backwards still holds.
/// </summary>
public sealed class InMemorySessionStoreTests : IAsyncLifetime
{
    private ProxyTestHost _host = null!;

    public async Task InitializeAsync() => _host = await ProxyTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_session_unread_across_two_sweeps_still_sends_its_token_and_shows_its_claims()
    {
        var (browser, session) = await _host.SignedInBrowserAsync(claims: [new SessionClaim("name", "Zoë Ünïcode"), new SessionClaim("email", "zoe@example.com")]);
        await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/before"));

        _host.Store.RemoveExpired();
        _host.Store.RemoveExpired();
        _host.Time.Advance(TimeSpan.FromMinutes(2));

        var received = await ProxyTestHost.EchoAsync(await browser.GetWithCsrfAsync("/api/after"));
        Assert.Equal("Bearer " + session.Tokens.AccessToken, received.Header("Authorization"));

        var user = await browser.GetWithCsrfAsync("/bff/user");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        var values = Strings(JsonDocument.Parse(await user.Content.ReadAsStringAsync()).RootElement).ToList();
        Assert.Contains("Zoë Ünïcode", values);
        Assert.Contains("zoe@example.com", values);
    }

    [Fact]
    public async Task A_session_read_back_after_the_sweeps_has_every_field_it_was_stored_with()
    {
        var (_, session) = await _host.SignedInBrowserAsync(claims: [new SessionClaim("role", "ops")]);
        session = session with
        {
            ProviderSessionId = "provider-session-1",
            Tokens = session.Tokens with { IdToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", Scope = "openid api", AccessTokenLifetime = TimeSpan.FromHours(1) },
        };
        await _host.Store.ReplaceAsync(session, CancellationToken.None);

        _host.Store.RemoveExpired();
        _host.Store.RemoveExpired();

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal(session.Key, stored.Key);
        Assert.Equal(session.PublicId, stored.PublicId);
        Assert.Equal(session.Subject, stored.Subject);
        Assert.Equal(session.ProviderSessionId, stored.ProviderSessionId);
        Assert.Equal(session.Claims, stored.Claims);
        Assert.Equal(session.CreatedAt, stored.CreatedAt);
        Assert.Equal(session.AbsoluteExpiresAt, stored.AbsoluteExpiresAt);
        Assert.Equal(session.IdleExpiresAt, stored.IdleExpiresAt);
        Assert.Equal(session.Tokens, stored.Tokens);
    }

    [Fact]
    public async Task A_sliding_write_from_before_a_refresh_keeps_the_refreshed_tokens_of_a_session_that_went_idle()
    {
        var (_, session) = await _host.SignedInBrowserAsync(tokenLifetime: TimeSpan.FromSeconds(30));
        var refreshed = session with { Tokens = session.Tokens with { AccessToken = "at.alice.new", RefreshToken = "rt.alice.new", Version = 1 } };
        await _host.Store.ReplaceAsync(refreshed, CancellationToken.None);
        _host.Store.RemoveExpired();
        _host.Store.RemoveExpired();

        var touched = session with { IdleExpiresAt = session.IdleExpiresAt.AddMinutes(5) };
        await _host.Store.ReplaceAsync(touched, CancellationToken.None);

        var stored = _host.StoredSession(session.Key)!;
        Assert.Equal("rt.alice.new", stored.Tokens.RefreshToken);
        Assert.Equal("at.alice.new", stored.Tokens.AccessToken);
        Assert.Equal(touched.IdleExpiresAt, stored.IdleExpiresAt);
    }

    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };
}
