using Bff.Provider;
using Bff.Redis;
using System.Security.Cryptography;
using Bff.Sessions;
using Microsoft.AspNetCore.DataProtection;

namespace Bff.Tests.Redis;

/// <summary>
/// The access token's lifetime (which bounds the refresh window) is stored after the fields of the first payloads of
/// this format, so sessions saved before it existed still read, with the lifetime unknown.
/// </summary>
public sealed class SessionPayloadLifetimeTests
{
    private static readonly string SessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
    private readonly EphemeralDataProtectionProvider _dataProtection = new();

    [Fact]
    public void The_access_token_lifetime_comes_back_as_it_was_written()
    {
        var payloads = new SessionPayloadProtector(_dataProtection);
        var session = Session(TimeSpan.FromSeconds(60));

        Assert.True(payloads.TryUnprotect(session.Key, SessionId, payloads.Protect(SessionId, session), out var read));

        Assert.Equal(TimeSpan.FromSeconds(60), read!.Tokens.AccessTokenLifetime);
        Assert.Equal(session.Tokens, read.Tokens);
    }

    [Fact]
    public void A_session_saved_before_lifetimes_were_stored_still_reads_with_the_lifetime_unknown()
    {
        var payloads = new SessionPayloadProtector(_dataProtection);
        var session = Session(lifetime: null);

        // A session without a lifetime is written field for field as the earlier version wrote every session.
        Assert.True(payloads.TryUnprotect(session.Key, SessionId, payloads.Protect(SessionId, session), out var read));

        Assert.Null(read!.Tokens.AccessTokenLifetime);
        Assert.Equal(session.Tokens, read.Tokens);
    }

    private static UserSession Session(TimeSpan? lifetime)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_796_415_093_123);
        return new UserSession
        {
            Key = SessionKey.Create("alice"),
            PublicId = SessionKey.CreatePublicId(),
            Subject = "alice",
            Claims = [new SessionClaim("sub", "alice")],
            CreatedAt = now,
            AbsoluteExpiresAt = now.AddHours(8),
            IdleExpiresAt = now.AddMinutes(30),
            Tokens = new TokenSet
            {
                AccessToken = "at.alice.1",
                AccessTokenExpiresAt = now.AddMinutes(1),
                AccessTokenLifetime = lifetime,
                RefreshToken = "rt.alice.1",
                Version = 2,
            },
        };
    }
}
