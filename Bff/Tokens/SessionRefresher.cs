using Bff.Authentication;
using Bff.Observability;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// Refresh and save, under the session's refresh lock: re-read the session from the store (someone may have
/// refreshed already, in a flight that just ended or on another replica), and only if its token is still due call the
/// provider and save the new tokens with <see cref="TokenSet.Version"/> + 1. A session whose refresh token is rejected
/// or spent is ended here.
/// </summary>
internal sealed class SessionRefresher(
    ISessionStore store,
    TokenEndpointClient tokenEndpoint,
    RefreshedIdTokenValidator idTokenValidator,
    ResourceTokenCache resourceTokens,
    RefreshWindow refreshWindow,
    SpentRefreshTokens spent,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<SessionRefresher> logger)
{
    public async Task<RefreshResult> RefreshAsync(UserSession seen, TokenTarget target, IRefreshLease lease, CancellationToken cancellationToken)
    {
        var lookup = await store.FindAsync(seen.Key, cancellationToken);
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            return RefreshResult.StoreUnavailable(target, RefreshErrors.ReadFailed);
        }

        if (lookup.Session is not { } current)
        {
            return RefreshResult.SessionGone(target);
        }

        var now = timeProvider.GetUtcNow();
        var tokens = current.Tokens;
        if (target.IsDefault && !refreshWindow.IsDue(tokens, now))
        {
            if (tokens.Version != seen.Tokens.Version)
            {
                BffLog.RefreshedElsewhere(logger, current.LogId);
            }

            return RefreshResult.Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.RefreshedElsewhere));
        }

        if (!target.IsDefault && resourceTokens.TryGet(current.Key, target, now, refreshWindow, out var cached))
        {
            return RefreshResult.Ready(current, target, cached, new(Outcomes.RefreshedElsewhere));
        }

        if (spent.IsSpent(current.Key, tokens.Version))
        {
            // Replaying a redeemed refresh token looks like token theft to the provider, which may revoke the grant.
            return await EndSessionAsync(current, target, lease, "its refresh token was already spent",
                new(Outcomes.Rejected, RefreshErrors.RefreshTokenSpent), SessionEndReasons.RefreshRejected);
        }

        if (tokens.RefreshToken is null)
        {
            if (target.IsDefault && tokens.AccessTokenExpiresAt > now)
            {
                return RefreshResult.Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.NoRefreshToken));
            }

            return await EndSessionAsync(current, target, lease, "no refresh token to renew its access token",
                new(Outcomes.NoRefreshToken), SessionEndReasons.Expired);
        }

        var refusedFor = resourceTokens.RefusedFor(current.Key, target, now);
        var call = refusedFor > TimeSpan.Zero
            ? new TokenCallResult(TokenCallStatus.Refused, null, refusedFor)
            : await tokenEndpoint.RefreshAsync(tokens.RefreshToken, target, cancellationToken);
        switch (call.Status)
        {
            case TokenCallStatus.GrantRejected:
                BffLog.RefreshRejected(logger, current.LogId);
                return await EndSessionAsync(current, target, lease, "the provider rejected its refresh token",
                    new(Outcomes.Rejected, RefreshErrors.InvalidGrant), SessionEndReasons.RefreshRejected);
            case TokenCallStatus.Unavailable or TokenCallStatus.Refused or TokenCallStatus.ClientRejected:
                var errorType = call.Status switch
                {
                    TokenCallStatus.Refused => RefreshErrors.Refused,
                    TokenCallStatus.ClientRejected => RefreshErrors.ClientRejected,
                    _ => RefreshErrors.Unavailable,
                };
                if (call.Status == TokenCallStatus.Refused && refusedFor == TimeSpan.Zero)
                {
                    // The refresh token was not spent, but asking again for the same target would only be refused again.
                    resourceTokens.Refuse(current.Key, target, now + call.RetryAfter);
                }

                if (target.IsDefault && tokens.AccessTokenExpiresAt > now)
                {
                    // Renewing early failed, but the token still works: use it rather than fail the call.
                    BffLog.RefreshDeferred(logger, current.LogId);
                    return RefreshResult.Ready(current, target, "Bearer " + tokens.AccessToken, new(Outcomes.ProviderUnavailable, errorType));
                }

                return RefreshResult.ProviderUnavailable(target, call.RetryAfter > TimeSpan.Zero ? call.RetryAfter : TokenEndpointClient.Cooldown, errorType);
        }

        var issued = call.Tokens!;

        // An ID token that fails the sign-in's checks makes the whole response untrustworthy (another user's tokens, or
        // not the provider's), and the old refresh token is spent: nothing of it is saved or forwarded, the session
        // ends. Not cancellable, like the save below. Without an id_token the session's own is kept.
        if (issued.IdToken is { } idToken
            && await idTokenValidator.ValidateAsync(idToken, current.Subject, tokens.IdToken, CancellationToken.None) is { } refusal)
        {
            BffLog.RefreshedIdTokenRefused(logger, current.LogId, refusal.Reason);
            return await EndSessionAsync(current, target, lease, "the refreshed ID token was refused",
                new(Outcomes.Rejected, refusal.Mismatch ? RefreshErrors.IdTokenMismatch : RefreshErrors.IdTokenInvalid),
                SessionEndReasons.RefreshRejected);
        }

        var expiresAt = now + issued.Lifetime;
        TokenSet? renewed = null;
        if (target.IsDefault)
        {
            renewed = new TokenSet
            {
                AccessToken = issued.AccessToken,
                AccessTokenExpiresAt = expiresAt,
                AccessTokenLifetime = issued.Lifetime,
                RefreshToken = issued.RefreshToken ?? tokens.RefreshToken,
                IdToken = issued.IdToken ?? tokens.IdToken,
                Version = tokens.Version + 1,
            };
        }
        else if (issued.RefreshToken is { } rotated && !string.Equals(rotated, tokens.RefreshToken, StringComparison.Ordinal))
        {
            // A resource token leaves the session's own access token alone, but a rotated refresh token must be kept.
            renewed = tokens with { RefreshToken = rotated, IdToken = issued.IdToken ?? tokens.IdToken, Version = tokens.Version + 1 };
        }

        var session = current;
        if (renewed is not null)
        {
            session = current with { Tokens = renewed };

            // Not cancellable: the provider has already spent the old refresh token, so this write must finish.
            var saved = await store.ReplaceAsync(session, CancellationToken.None);
            if (saved == StoreOutcome.NotFound)
            {
                return RefreshResult.SessionGone(target);
            }

            if (saved == StoreOutcome.Unavailable)
            {
                // Fail closed: never forward tokens that were not saved, and never replay the spent refresh token.
                BffLog.RefreshNotSaved(logger, current.LogId);
                if (await RemoveSpentSessionAsync(current, lease))
                {
                    metrics.SessionEnded(SessionEndReasons.RefreshRejected);
                }

                return RefreshResult.StoreUnavailable(target, RefreshErrors.SaveFailed);
            }

            BffLog.TokensRefreshed(logger, current.LogId, renewed.Version, target.ToString());
        }

        var authorization = "Bearer " + issued.AccessToken;
        if (!target.IsDefault)
        {
            resourceTokens.Set(current.Key, target, new CachedToken(authorization, expiresAt, issued.Lifetime));
        }

        return RefreshResult.Ready(session, target, authorization, new(Outcomes.Refreshed));
    }

    /// <param name="endReason">The <see cref="SessionEndReasons"/> value counted when the session is removed.</param>
    private async Task<RefreshResult> EndSessionAsync(
        UserSession session, TokenTarget target, IRefreshLease lease, string reason, RefreshReport report, string endReason)
    {
        // Counted once, by whoever removes it: a failed removal is retried by the next flight (the spent-token check).
        if (await RemoveSpentSessionAsync(session, lease))
        {
            metrics.SessionEnded(endReason);
        }

        BffLog.SessionEnded(logger, session.LogId, reason);
        return new RefreshResult(RefreshOutcome.SessionEnded, target, report);
    }

    /// <summary>Returns whether this call removed the session from the store.</summary>
    private async Task<bool> RemoveSpentSessionAsync(UserSession session, IRefreshLease lease)
    {
        spent.Remember(session.Key, session.Tokens.Version);
        resourceTokens.RemoveSession(session.Key);
        var removed = await store.RemoveAsync(session.Key, CancellationToken.None);
        if (removed == StoreOutcome.Ok)
        {
            spent.Forget(session.Key, session.Tokens.Version);
            return true;
        }

        // The store keeps the spent refresh token until the removal goes through: other replicas must not take the
        // lock and spend it again meanwhile.
        lease.Keep();
        return false;
    }
}
