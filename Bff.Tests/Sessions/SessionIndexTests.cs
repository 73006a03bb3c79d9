using Bff.Provider;
using Bff.Sessions;
using Bff.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace Bff.Tests.Sessions;

/// <summary>
/// Both stores index sessions by user: a user's sessions can be listed (without their tokens) and ended, one, all but
/// one, or all of everyone's; a user never sees or ends another user's. In Redis the index never outlives its sessions.
/// </summary>
public sealed class SessionIndexTests : IAsyncLifetime
{
    private readonly ReplicaSet _set = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly List<IDisposable> _owned = [];
    private ConnectionMultiplexer? _inspector;
    private GatewayFactory? _gateway;

    private IDatabase Redis => _inspector!.GetDatabase();

    public async Task InitializeAsync()
    {
        await _set.InitializeAsync();
        _inspector = await ConnectionMultiplexer.ConnectAsync(_set.Redis.Configuration);
    }

    public async Task DisposeAsync()
    {
        _owned.ForEach(o => o.Dispose());
        await _inspector!.DisposeAsync();
        await _set.DisposeAsync();
    }

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task A_users_sessions_are_listed_oldest_first_with_their_details_and_nobody_elses(string kind)
    {
        var store = Store(kind);
        var first = await CreateAsync(store, "alice", "Firefox on Windows");
        _time.Advance(TimeSpan.FromSeconds(3));
        var second = await CreateAsync(store, "alice", null);
        await CreateAsync(store, "bob", "Safari on iOS");
        // Two subjects that ASCII would hash alike (every non-ASCII character read as '?') are two users.
        await CreateAsync(store, "ü", "Chrome on Linux");

        var list = await store.ListOfSubjectAsync("alice", CancellationToken.None);

        Assert.Equal(StoreOutcome.Ok, list.Outcome);
        Assert.Equal([first.Id, second.Id], list.Sessions.Select(s => s.Id));
        Assert.Equal(first.CreatedAt.ToUnixTimeMilliseconds(), list.Sessions[0].CreatedAt.ToUnixTimeMilliseconds());
        Assert.Equal(first.AbsoluteExpiresAt.ToUnixTimeMilliseconds(), list.Sessions[0].AbsoluteExpiresAt!.Value.ToUnixTimeMilliseconds());
        // Redis counts a session's time to live on its own clock, which the test's clock ran 3 s ahead of.
        Assert.InRange(list.Sessions[0].ExpiresAt, first.ExpiresAt.AddSeconds(-1), first.ExpiresAt.AddSeconds(4));
        Assert.Equal(["Firefox on Windows", null], list.Sessions.Select(s => s.Device));
        Assert.Empty((await store.ListOfSubjectAsync("é", CancellationToken.None)).Sessions);
        Assert.Single((await store.ListOfSubjectAsync("ü", CancellationToken.None)).Sessions);
    }

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task Ending_one_session_ends_only_that_session_of_that_user_and_hands_back_its_tokens(string kind)
    {
        var store = Store(kind);
        var alice = await CreateAsync(store, "alice", null);
        var other = await CreateAsync(store, "alice", null);
        var bob = await CreateAsync(store, "bob", null);

        // Bob's id named as one of alice's sessions ends nothing.
        Assert.Empty((await store.EndOfSubjectAsync("alice", bob.Id, null, CancellationToken.None)).Sessions);
        var ended = await store.EndOfSubjectAsync("alice", alice.Id, null, CancellationToken.None);

        Assert.Equal(alice.LogId, Assert.Single(ended.Sessions).LogId);
        Assert.Equal(alice.Tokens.RefreshToken, ended.Sessions[0].Tokens!.RefreshToken);
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(alice.Key, CancellationToken.None)).Status);
        Assert.Equal(SessionLookupStatus.Found, (await store.FindAsync(other.Key, CancellationToken.None)).Status);
        Assert.Equal(SessionLookupStatus.Found, (await store.FindAsync(bob.Key, CancellationToken.None)).Status);
        Assert.Equal([other.Id], (await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions.Select(s => s.Id));
    }

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task Ending_all_but_one_keeps_that_one_and_ending_everything_ends_every_users_sessions(string kind)
    {
        var store = Store(kind);
        var kept = await CreateAsync(store, "alice", null);
        var others = new[] { await CreateAsync(store, "alice", null), await CreateAsync(store, "alice", null) };
        var bob = await CreateAsync(store, "bob", null);

        var ended = await store.EndOfSubjectAsync("alice", null, kept.Id, CancellationToken.None);

        Assert.Equal(others.Select(s => s.LogId).Order(), ended.Sessions.Select(s => s.LogId).Order());
        Assert.Equal([kept.Id], (await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions.Select(s => s.Id));

        var all = await store.EndAllAsync(CancellationToken.None);

        Assert.Equal(new RemoveManyResult(StoreOutcome.Ok, 2), all);
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(kept.Key, CancellationToken.None)).Status);
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(bob.Key, CancellationToken.None)).Status);
        Assert.Empty((await store.ListOfSubjectAsync("bob", CancellationToken.None)).Sessions);
        if (kind == "Redis")
        {
            Assert.Empty(_inspector!.GetServers().Single().Keys(pattern: "bff:s*"));
        }
    }

    [Fact]
    public async Task A_list_reads_no_token_payload_in_Redis()
    {
        var store = Store("Redis");
        var session = await CreateAsync(store, "alice", "Edge on Windows");
        // A payload nobody can decrypt would read as no session; the list does not read it at all.
        await Redis.StringSetAsync("bff:session:v2:" + session.Id, "1:garbage", TimeSpan.FromHours(1));

        var list = await store.ListOfSubjectAsync("alice", CancellationToken.None);

        Assert.Equal("Edge on Windows", Assert.Single(list.Sessions).Device);
    }

    [Fact]
    public async Task Index_entries_of_expired_sessions_are_dropped_and_the_index_expires_with_the_last_session()
    {
        var store = Store("Redis");
        var subject = "bff:subject-sessions:" + SessionKey.Hash("alice") + "{" + SessionKey.SlotTag("alice") + "}";
        var details = subject + ":details";
        var lasting = await CreateAsync(store, "alice", null);
        _time.Advance(TimeSpan.FromMinutes(1));
        var expiring = await CreateAsync(store, "alice", null, lifetime: TimeSpan.FromMilliseconds(1));

        // Redis expires the short-lived session by itself: the index still names it until something touches the index.
        Assert.True(await ReplicaSet.EventuallyAsync(async () => !await Redis.KeyExistsAsync("bff:session:v2:" + expiring.Id), TimeSpan.FromSeconds(5)));
        Assert.Equal(2, await Redis.SortedSetLengthAsync(subject));

        Assert.Equal([lasting.Id], (await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions.Select(s => s.Id));
        Assert.Equal([lasting.Id], (await Redis.SortedSetRangeByRankAsync(subject)).Select(v => (string)v!));
        Assert.Equal([lasting.Id], (await Redis.HashKeysAsync(details)).Select(v => (string)v!));
        // Both index keys expire with the latest absolute expiry they know, not later.
        var latest = lasting.AbsoluteExpiresAt - _time.GetUtcNow();
        foreach (var key in new[] { subject, details })
        {
            Assert.InRange((await Redis.KeyTimeToLiveAsync(key))!.Value, latest - TimeSpan.FromSeconds(5), latest);
        }

        // Once the last session is gone, the next touch leaves nothing of the index behind.
        await Redis.KeyDeleteAsync("bff:session:v2:" + lasting.Id);
        Assert.Empty((await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions);
        Assert.False(await Redis.KeyExistsAsync(subject));
        Assert.False(await Redis.KeyExistsAsync(details));
    }

    [Fact]
    public async Task A_user_with_many_sessions_keeps_a_bounded_index()
    {
        var gateway = _set.Start(new Dictionary<string, string?> { ["Bff:Session:MaxPerSubject"] = "50" }, s => s.AddSingleton<TimeProvider>(_time));
        var store = gateway.Services.GetRequiredService<ISessionStore>();
        var issuer = new List<UserSession>();
        for (var i = 0; i < 60; i++)
        {
            var session = await CreateAsync(store, "alice", "Firefox on Linux");
            await store.EndOldestOfSubjectAsync(session, 50, CancellationToken.None);
            issuer.Add(session);
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        var list = await store.ListOfSubjectAsync("alice", CancellationToken.None);

        Assert.Equal(issuer.Skip(10).Select(s => s.Id), list.Sessions.Select(s => s.Id));
        Assert.Equal(50, await Redis.SortedSetLengthAsync("bff:subject-sessions:" + SessionKey.Hash("alice") + "{" + SessionKey.SlotTag("alice") + "}"));
        Assert.Equal(50, await Redis.HashLengthAsync("bff:subject-sessions:" + SessionKey.Hash("alice") + "{" + SessionKey.SlotTag("alice") + "}:details"));
    }

    [Fact]
    public async Task In_memory_every_way_a_session_ends_reaches_the_users_index_and_an_ended_user_leaves_nothing_behind()
    {
        var store = Store("InMemory");
        var memory = _gateway!.Services.GetRequiredService<InMemorySessionStore>();
        var expiring = await CreateAsync(store, "alice", null, lifetime: TimeSpan.FromMinutes(1));
        var loggedOut = await CreateAsync(store, "alice", null);
        var capped = await CreateAsync(store, "alice", null);
        _time.Advance(TimeSpan.FromSeconds(1));
        var kept = await CreateAsync(store, "alice", null);
        var bob = await CreateAsync(store, "bob", null);
        var carol = await CreateAsync(store, "carol", null);
        Assert.Equal(3, memory.IndexedSubjects);

        // Expiry (the sweep), a logout, the per-user cap: each takes its session out of alice's list and nothing else.
        _time.Advance(TimeSpan.FromMinutes(2));
        memory.RemoveExpired();
        await store.RemoveAsync(loggedOut.Key, CancellationToken.None);
        Assert.Equal([capped.Id, kept.Id], (await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions.Select(s => s.Id));
        Assert.Equal(capped.LogId, Assert.Single((await store.EndOldestOfSubjectAsync(kept, 1, CancellationToken.None)).Sessions).LogId);
        Assert.Equal([kept.Id], (await store.ListOfSubjectAsync("alice", CancellationToken.None)).Sessions.Select(s => s.Id));
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(expiring.Key, CancellationToken.None)).Status);

        // Back-channel logout by subject (and provider session) finds the user's sessions through the index.
        Assert.Equal(1, (await store.RemoveByProviderSessionAsync("alice", null, CancellationToken.None)).Removed);
        Assert.Equal(1, (await store.RemoveByProviderSessionAsync("bob", null, CancellationToken.None)).Removed);
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(kept.Key, CancellationToken.None)).Status);
        Assert.Equal(SessionLookupStatus.NotFound, (await store.FindAsync(bob.Key, CancellationToken.None)).Status);
        Assert.Equal(SessionLookupStatus.Found, (await store.FindAsync(carol.Key, CancellationToken.None)).Status);
        Assert.Equal(1, memory.IndexedSubjects);

        // A user who signs in again after all that is counted from one session, and ending everything empties the index.
        var again = await CreateAsync(store, "alice", null);
        Assert.Empty((await store.EndOldestOfSubjectAsync(again, 1, CancellationToken.None)).Sessions);
        Assert.Equal(2, (await store.EndAllAsync(CancellationToken.None)).Removed);
        Assert.Equal(0, memory.IndexedSubjects);
    }

    private ISessionStore Store(string kind)
    {
        if (kind == "Redis")
        {
            return _set.Start(services: s => s.AddSingleton<TimeProvider>(_time)).Services.GetRequiredService<ISessionStore>();
        }

        var idp = new TestIdentityProvider();
        var gateway = new GatewayFactory(idp, time: _time);
        _gateway = gateway;
        _owned.Add(gateway);
        _owned.Add(idp);
        return gateway.Services.GetRequiredService<ISessionStore>();
    }

    private async Task<UserSession> CreateAsync(ISessionStore store, string subject, string? device, TimeSpan? lifetime = null)
    {
        var now = _time.GetUtcNow();
        var session = new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            Claims = [new SessionClaim("sub", subject)],
            CreatedAt = now,
            AbsoluteExpiresAt = now + (lifetime ?? TimeSpan.FromHours(8)),
            IdleExpiresAt = now + (lifetime ?? TimeSpan.FromMinutes(30)),
            Tokens = new TokenSet { AccessToken = "at." + subject, AccessTokenExpiresAt = now.AddMinutes(5), RefreshToken = "rt." + Guid.NewGuid() },
            Device = device,
        };
        Assert.Equal(StoreOutcome.Ok, await store.CreateAsync(session, CancellationToken.None));
        return session;
    }
}
