namespace Bff.Sessions;

internal enum ReplayCheck
{
    /// <summary>First time this id is seen: go ahead.</summary>
    FirstUse,

    /// <summary>Seen before, within its lifetime: refuse.</summary>
    Replayed,

    /// <summary>The store could not be asked; nothing was recorded.</summary>
    Unavailable,
}

/// <summary>
/// Remembers ids of one-time tokens (the <c>jti</c> of back-channel logout tokens) for as long as the token could be
/// accepted, so a captured token cannot be played again. Kept beside the sessions: in Redis when they are, so a token
/// replayed to another replica is refused too.
/// </summary>
internal interface ITokenReplayCache
{
    ValueTask<ReplayCheck> TryUseAsync(string tokenId, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Forgets an id recorded by a request that then failed for another reason, so the sender's retry is not refused.</summary>
    ValueTask ForgetAsync(string tokenId, CancellationToken cancellationToken);
}
