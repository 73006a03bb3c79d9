using Bff.Configuration;
using Bff.Redis;
using System.Net;
using System.Text.Json;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tests.Sessions;

/// <summary>
/// One account signing in again and again cannot hold more than Bff:Session:MaxPerSubject sessions: each sign-in
/// past the cap ends that user's oldest session, as logout would. The in-memory store holds at most
/// Bff:Session:MaxInMemorySessions, and past it refuses new sign-ins instead of signing existing users out.
/// </summary>
public sealed class SessionCapTests
{
    private const int CapEvictedLine = 1008;
    private const int CapRefusedLine = 1009;

    [Theory]
    [InlineData("MaxPerSubject")]
    [InlineData("MaxInMemorySessions")]
    public void A_cap_below_one_is_refused_at_start_up(string setting)
    {
        var options = new Bff.Configuration.BffOptions { Authority = "https://idp.example.com", ClientId = "bff", ClientSecret = "secret" };
        typeof(Bff.Configuration.SessionSettings).GetProperty(setting)!.SetValue(options.Session, 0);
        var environment = new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = "Production" };

        var failures = new Bff.Configuration.BffOptionsValidator(environment).Validate(null, options).Failures ?? [];

        Assert.Contains(failures, f => f.StartsWith($"Bff:Session:{setting} must be at least 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sign_in_beyond_the_per_user_cap_ends_that_users_oldest_session_in_memory()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?> { ["Bff:Session:MaxPerSubject"] = "3" });
        using var counters = new CounterTotals(gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.SessionCap);
        using var ended = new CounterTotals(gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.SessionEndReason);
        using var bob = gateway.CreateBrowser();
        await bob.SignInAsync(idp, subject: "bob");
        var alices = Enumerable.Range(0, 5).Select(_ => gateway.CreateBrowser()).ToArray();

        foreach (var alice in alices)
        {
            Assert.Equal(HttpStatusCode.Redirect, (await alice.SignInAsync(idp, subject: "alice")).StatusCode);
        }

        // The two oldest are signed out; the three newest and the other user are not.
        Assert.Equal(
            [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
            await Task.WhenAll(alices.Select(async a => (await a.GetWithCsrfAsync("/bff/user")).StatusCode)));
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(2, counters[Instruments.SessionCapEvictions, SessionCaps.PerSubject]);
        Assert.Equal(2, ended[Instruments.SessionsEnded, SessionEndReasons.CapEvicted]);

        // One line each time the cap acts, naming the user by hash only; the ended sessions as logout names them.
        var lines = gateway.Logs.Lines.Where(l => l.EventId.Id == CapEvictedLine).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.StartsWith($"Subject {SessionKey.LogId("alice")} reached Bff:Session:MaxPerSubject (3): ended its 1 oldest", l.Message, StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs.Lines, l => l.EventId.Id == CapEvictedLine && l.Message.Contains("alice", StringComparison.Ordinal));
        Assert.Equal(2, gateway.Logs.Lines.Count(l => l.EventId.Id == 1002 && l.Message.Contains("(cap_evicted)", StringComparison.Ordinal)));

        // Their refresh tokens are revoked at the provider, as at logout (token responses: bob's, then alice's in order).
        var issued = IssuedRefreshTokens(idp);
        Assert.Equal(new[] { issued[1], issued[2] }.Order(), RevokedTokens(idp).Order());
    }

    [Fact]
    public async Task A_full_in_memory_store_refuses_new_sign_ins_with_503_and_keeps_everyone_signed_in()
    {
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?> { ["Bff:Session:MaxInMemorySessions"] = "2" });
        using var counters = new CounterTotals(gateway.Services.GetRequiredService<BffMetrics>().Meter, Attributes.SessionCap);
        using var alice = gateway.CreateBrowser();
        using var bob = gateway.CreateBrowser();
        using var mallory = gateway.CreateBrowser();
        await alice.SignInAsync(idp, subject: "alice");
        await bob.SignInAsync(idp, subject: "bob");

        var refused = await mallory.SignInAsync(idp, subject: "mallory");
        var again = await mallory.SignInAsync(idp, subject: "mallory-2");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
        {
            Assert.Equal("session_capacity_reached", problem.RootElement.GetProperty("error").GetString());
        }

        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is missing");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await mallory.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetWithCsrfAsync("/bff/user")).StatusCode);
        Assert.Equal(2, counters[Instruments.SessionCapRefusals, SessionCaps.InMemoryTotal]);

        // One line for the first refusal; the next ones within the minute are counted, not written.
        var line = Assert.Single(gateway.Logs.Lines, l => l.EventId.Id == CapRefusedLine);
        Assert.Contains("Bff:Session:MaxInMemorySessions (2)", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mallory", line.Message, StringComparison.Ordinal);

        // Room again once a session ends.
        var logoutUrl = JsonDocument.Parse(await (await alice.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync())
            .RootElement.GetProperty("logoutUrl").GetString()!;
        await alice.GetAsync(logoutUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await mallory.SignInAsync(idp, subject: "mallory")).StatusCode);
    }

    [Fact]
    public async Task A_full_in_memory_store_takes_a_new_session_again_after_a_session_ends_by_any_path()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var idp = new TestIdentityProvider();
        using var gateway = new GatewayFactory(idp, new Dictionary<string, string?> { ["Bff:Session:MaxInMemorySessions"] = "2" }, time: time);
        var store = gateway.Services.GetRequiredService<InMemorySessionStore>();
        await CreateAsync(store, time, "alice", TimeSpan.FromMinutes(1));
        var second = await CreateAsync(store, time, "bob", TimeSpan.FromHours(1));
        Assert.Equal(StoreOutcome.Full, await store.CreateAsync(NewSession(time, "carol", TimeSpan.FromHours(1)), CancellationToken.None));

        // Each way a session ends gives its place back, once: expiry (found by the sign-in itself), logout, the per-user
        // cap, session control, back-channel logout and ending everything.
        time.Advance(TimeSpan.FromMinutes(2));
        await CreateAsync(store, time, "carol", TimeSpan.FromHours(1));
        Assert.Equal(StoreOutcome.Full, await store.CreateAsync(NewSession(time, "dave", TimeSpan.FromHours(1)), CancellationToken.None));
        await store.RemoveAsync(second.Key, CancellationToken.None);
        await store.RemoveAsync(second.Key, CancellationToken.None);
        var fourth = await CreateAsync(store, time, "carol", TimeSpan.FromHours(1));
        Assert.Equal(StoreOutcome.Full, await store.CreateAsync(NewSession(time, "dave", TimeSpan.FromHours(1)), CancellationToken.None));
        Assert.Single((await store.EndOldestOfSubjectAsync(fourth, 1, CancellationToken.None)).Sessions);
        await CreateAsync(store, time, "erin", TimeSpan.FromHours(1));
        Assert.Single((await store.EndOfSubjectAsync("erin", null, null, CancellationToken.None)).Sessions);
        await CreateAsync(store, time, "frank", TimeSpan.FromHours(1));
        Assert.Equal(1, (await store.RemoveByProviderSessionAsync("frank", null, CancellationToken.None)).Removed);
        await CreateAsync(store, time, "grace", TimeSpan.FromHours(1));
        Assert.Equal(StoreOutcome.Full, await store.CreateAsync(NewSession(time, "dave", TimeSpan.FromHours(1)), CancellationToken.None));
        Assert.Equal(2, (await store.EndAllAsync(CancellationToken.None)).Removed);
        await CreateAsync(store, time, "heidi", TimeSpan.FromHours(1));
        await CreateAsync(store, time, "ivan", TimeSpan.FromHours(1));
        Assert.Equal(StoreOutcome.Full, await store.CreateAsync(NewSession(time, "dave", TimeSpan.FromHours(1)), CancellationToken.None));
        Assert.Equal(2, store.Count);
    }

    private static async Task<UserSession> CreateAsync(InMemorySessionStore store, TimeProvider time, string subject, TimeSpan lifetime)
    {
        var session = NewSession(time, subject, lifetime);
        Assert.Equal(StoreOutcome.Ok, await store.CreateAsync(session, CancellationToken.None));
        return session;
    }

    private static UserSession NewSession(TimeProvider time, string subject, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        return new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            Claims = [new SessionClaim("sub", subject)],
            CreatedAt = now,
            AbsoluteExpiresAt = now + lifetime,
            IdleExpiresAt = now + lifetime,
            Tokens = new Bff.Provider.TokenSet { AccessToken = "at." + subject, AccessTokenExpiresAt = now.AddMinutes(5), RefreshToken = "rt." + subject },
        };
    }

    [Fact]
    public async Task Redis_keeps_a_pruned_per_user_index_and_ends_the_oldest_session_on_every_replica()
    {
        await using var set = new ReplicaSet();
        await set.InitializeAsync();
        var settings = new Dictionary<string, string?> { ["Bff:Session:MaxPerSubject"] = "2" };
        var a = set.Start(settings);
        var b = set.Start(settings);
        using var counters = new CounterTotals(a.Services.GetRequiredService<BffMetrics>().Meter, Attributes.SessionCap);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(set.Redis.Configuration);
        var database = redis.GetDatabase();
        var index = a.Services.GetRequiredService<RedisConnection>().Keys.SubjectSessions("alice");

        using var first = a.CreateBrowser();
        using var second = a.CreateBrowser();
        await first.SignInAsync(set.Idp, subject: "alice");
        await second.SignInAsync(set.Idp, subject: "alice");
        // Replica B has read (and cached) the first session.
        Assert.Equal(HttpStatusCode.OK, (await first.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(
            new[] { first, second }.Select(c => SessionKey.Id(c.CookieValue("__Host-bff")!)),
            (await database.SortedSetRangeByRankAsync(index)).Select(v => (string)v!));

        using var third = a.CreateBrowser();
        await third.SignInAsync(set.Idp, subject: "alice");

        Assert.Equal(1, counters[Instruments.SessionCapEvictions, SessionCaps.PerSubject]);
        Assert.True(await ReplicaSet.EventuallyAsync(
            async () => (await first.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(1)), "Replica B still serves the evicted session.");
        Assert.Equal(HttpStatusCode.Unauthorized, (await first.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await third.GetWithCsrfAsync(b.Url("/bff/user"))).StatusCode);
        Assert.Single(a.Logs.Lines, l => l.EventId.Id == CapEvictedLine && l.Message.Contains(SessionKey.LogId("alice"), StringComparison.Ordinal));
        Assert.Equal([IssuedRefreshTokens(set.Idp)[0]], RevokedTokens(set.Idp));

        // The index lists the live sessions, oldest first, by id: no cookie value, no token.
        var members = (await database.SortedSetRangeByRankAsync(index)).Select(v => (string)v!).ToArray();
        Assert.Equal(new[] { second, third }.Select(c => SessionKey.Id(c.CookieValue("__Host-bff")!)), members);
        Assert.All(members, m => Assert.Matches("^[0-9a-f]{64}\\{[0-9a-f]{4}\\}$", m));
        var ttl = await database.KeyTimeToLiveAsync(index);
        Assert.True(ttl > TimeSpan.FromHours(7) && ttl <= TimeSpan.FromHours(8), $"The index expires in {ttl}.");

        // A session that ended otherwise (logout) leaves the index at the next sign-in, and is not counted against the cap.
        var logoutUrl = JsonDocument.Parse(await (await second.GetWithCsrfAsync("/bff/user")).Content.ReadAsStringAsync())
            .RootElement.GetProperty("logoutUrl").GetString()!;
        await second.GetAsync(a.Url(logoutUrl));
        using var fourth = b.CreateBrowser();
        await fourth.SignInAsync(set.Idp, subject: "alice");
        Assert.Equal(HttpStatusCode.OK, (await third.GetWithCsrfAsync(a.Url("/bff/user"))).StatusCode);
        Assert.Equal(
            new[] { third, fourth }.Select(c => SessionKey.Id(c.CookieValue("__Host-bff")!)),
            (await database.SortedSetRangeByRankAsync(index)).Select(v => (string)v!));
        Assert.Equal(1, counters[Instruments.SessionCapEvictions, SessionCaps.PerSubject]);
    }

    /// <summary>The refresh tokens of the provider's token responses, in order.</summary>
    private static string[] IssuedRefreshTokens(TestIdentityProvider idp) =>
    [
        .. idp.Server.LogEntries
            .Where(e => e.RequestMessage.Path == "/token" && e.ResponseMessage.BodyData?.BodyAsString is not null)
            .Select(e => JsonDocument.Parse(e.ResponseMessage.BodyData!.BodyAsString!).RootElement)
            .Where(json => json.TryGetProperty("refresh_token", out _))
            .Select(json => json.GetProperty("refresh_token").GetString()!),
    ];

    private static string[] RevokedTokens(TestIdentityProvider idp) =>
        [.. idp.RequestsTo("/revoke").Select(r => TestIdentityProvider.Form(r)["token"])];
}
