using Bff.Provider;
using Bff.Sessions;

namespace Bff.Tests.Sessions;

/// <summary>A session-ended notice reaches exactly the streams of the sessions the store ended, as back-channel logout matches them.</summary>
public sealed class SessionEventHubTests
{
    private readonly SessionEventHub _hub = new();

    [Fact]
    public async Task A_notice_for_a_subject_ends_every_stream_of_that_subject_and_no_other()
    {
        using var alice1 = _hub.Subscribe(Session("alice", "sid-1"));
        using var alice2 = _hub.Subscribe(Session("alice", "sid-2"));
        using var bob = _hub.Subscribe(Session("bob", "sid-3"));

        _hub.Deliver(SessionEndedNotice.ForUser("alice", null, SessionEndReason.Backchannel));

        Assert.True(alice1.Ended.IsCompleted && alice2.Ended.IsCompleted);

        Assert.Equal(SessionEndReason.Backchannel, await alice1.Ended);
        Assert.Equal(SessionEndReason.Backchannel, await alice2.Ended);
        Assert.False(bob.Ended.IsCompleted);
    }

    [Fact]
    public void A_notice_for_a_provider_session_ends_only_its_streams_and_only_of_the_named_subject()
    {
        using var alice1 = _hub.Subscribe(Session("alice", "sid-1"));
        using var alice2 = _hub.Subscribe(Session("alice", "sid-2"));
        using var mallory = _hub.Subscribe(Session("mallory", "sid-1"));

        _hub.Deliver(SessionEndedNotice.ForUser("alice", "sid-1", SessionEndReason.Backchannel));

        Assert.True(alice1.Ended.IsCompleted);
        Assert.False(alice2.Ended.IsCompleted);
        Assert.False(mallory.Ended.IsCompleted);

        _hub.Deliver(SessionEndedNotice.ForUser(null, "sid-1", SessionEndReason.Backchannel));
        Assert.True(mallory.Ended.IsCompleted);
        Assert.False(alice2.Ended.IsCompleted);
    }

    [Fact]
    public async Task A_notice_for_one_session_ends_its_tabs_and_a_closed_stream_is_forgotten()
    {
        var session = Session("alice", null);
        using var tab1 = _hub.Subscribe(session);
        var tab2 = _hub.Subscribe(session);
        using var other = _hub.Subscribe(Session("alice", null));
        tab2.Dispose();

        _hub.Deliver(SessionEndedNotice.ForSession(session.Id, SessionEndReason.Revoked));

        Assert.True(tab1.Ended.IsCompleted);
        Assert.Equal(SessionEndReason.Revoked, await tab1.Ended);
        Assert.False(tab2.Ended.IsCompleted);
        Assert.False(other.Ended.IsCompleted);
        Assert.Equal(2, _hub.Count);
    }

    [Fact]
    public async Task A_notice_about_every_session_ends_the_streams_of_older_sessions_and_spares_those_signed_in_since()
    {
        var breakGlass = DateTimeOffset.UtcNow;
        using var alice = _hub.Subscribe(Session("alice", "sid-1", breakGlass.AddMinutes(-5)));
        using var bob = _hub.Subscribe(Session("bob", null, breakGlass.AddMilliseconds(-1)));
        // Signed in while the store was being emptied (or in the same millisecond): its session may well be kept.
        using var sameMillisecond = _hub.Subscribe(Session("carol", null, breakGlass));
        using var since = _hub.Subscribe(Session("dave", null, breakGlass.AddSeconds(1)));

        _hub.Deliver(SessionEndedNotice.ForEvery(breakGlass, SessionEndReason.Revoked));

        Assert.True(alice.Ended.IsCompleted && bob.Ended.IsCompleted);
        Assert.Equal(SessionEndReason.Revoked, await alice.Ended);
        Assert.Equal(SessionEndReason.Revoked, await bob.Ended);
        Assert.False(sameMillisecond.Ended.IsCompleted);
        Assert.False(since.Ended.IsCompleted);
    }

    [Fact]
    public void A_notice_that_names_nobody_ends_nothing()
    {
        using var alice = _hub.Subscribe(Session("alice", "sid-1"));

        _hub.Deliver(new SessionEndedNotice(null, null, null, SessionEndReason.Backchannel));

        Assert.False(alice.Ended.IsCompleted);
    }

    private static UserSession Session(string subject, string? providerSessionId, DateTimeOffset? createdAt = null) => new()
    {
        Key = SessionKey.Create(subject),
        PublicId = SessionKey.CreatePublicId(),
        Subject = subject,
        ProviderSessionId = providerSessionId,
        Claims = [new SessionClaim("sub", subject)],
        CreatedAt = createdAt ?? DateTimeOffset.UtcNow,
        AbsoluteExpiresAt = DateTimeOffset.UtcNow.AddHours(8),
        IdleExpiresAt = DateTimeOffset.UtcNow.AddMinutes(30),
        Tokens = new TokenSet { AccessToken = "at", AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddHours(1) },
    };
}
