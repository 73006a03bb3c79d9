using System.Security.Claims;
using Bff.Configuration;
using Bff.Observability;
using Bff.Provider;
using Bff.Sessions;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// Refresh and save, under the session's refresh lock: re-read the session from the store (someone may have
/// refreshed already, in a flight that just ended or on another replica), and only if its token is still due call the
/// provider and save the new tokens with <see cref="TokenSet.Version"/> + 1. A session whose refresh token is rejected
/// or spent is ended here. The lease is the caller's to hold until this returns; it is released here, unless the
/// new tokens wait for the store (<see cref="UnsavedRefreshes"/> takes it over). The pages of a session ended here are
/// told why (<see cref="ISessionEvents"/>).
/// </summary>
internal sealed class SessionRefresher(
    ISessionStore store,
    TokenEndpointClient tokenEndpoint,
    RefreshedIdTokenValidator idTokenValidator,
    ResourceTokenCache resourceTokens,
    RefreshWindow refreshWindow,
    SpentRefreshTokens spent,
    UnsavedRefreshes unsaved,
    ISessionEvents events,
    TimeProvider timeProvider,
    BffMetrics metrics,
    UserInfoClient userInfo,
    Microsoft.Extensions.Options.IOptions<BffOptions> options,
    ILogger<SessionRefresher> logger)
{
    public async Task<RefreshResult> RefreshAsync(UserSession seen, TokenTarget target, IRefreshLease lease, CancellationToken cancellationToken)
    {
        var handedOver = false;
        try
        {
            var (result, kept) = await RefreshUnderLeaseAsync(seen, target, lease, cancellationToken);
            handedOver = kept;
            return result;
        }
        finally
        {
            if (!handedOver)
            {
                await lease.DisposeAsync();
            }
        }
    }

    private async Task<(RefreshResult Result, bool LeaseHandedOver)> RefreshUnderLeaseAsync(
        UserSession seen, TokenTarget target, IRefreshLease lease, CancellationToken cancellationToken)
    {
        var lookup = await store.FindAsync(seen.Key, cancellationToken);
        if (lookup.Status == SessionLookupStatus.Unavailable)
        {
            return (RefreshResult.StoreUnavailable(target, RefreshErrors.ReadFailed), false);
        }

        if (lookup.Session is not { } current)
        {
            return (RefreshResult.SessionGone(target), false);
        }

        var now = timeProvider.GetUtcNow();
        var tokens = current.Tokens;
        if (target.IsDefault && !refreshWindow.IsDue(tokens, now))
        {
            if (tokens.Version != seen.Tokens.Version)
            {
                BffLog.RefreshedElsewhere(logger, current.LogId);
            }

            return (RefreshResult.Ready(current, target, new(Outcomes.RefreshedElsewhere)), false);
        }

        if (!target.IsDefault && resourceTokens.TryGet(current.Key, target, now, refreshWindow, out var cached))
        {
            return (RefreshResult.Ready(current, target, cached, new(Outcomes.RefreshedElsewhere)), false);
        }

        if (spent.IsSpent(current.Key, tokens.Version))
        {
            // Replaying a redeemed refresh token looks like token theft to the provider, which may revoke the grant.
            return (await EndSessionAsync(current, target, lease, "its refresh token was already spent",
                new(Outcomes.Rejected, RefreshErrors.RefreshTokenSpent), SessionEndReasons.RefreshRejected), false);
        }

        if (tokens.RefreshToken is null)
        {
            if (target.IsDefault && tokens.AccessTokenExpiresAt > now)
            {
                return (RefreshResult.Ready(current, target, new(Outcomes.NoRefreshToken)), false);
            }

            return (await EndSessionAsync(current, target, lease, "no refresh token to renew its access token",
                new(Outcomes.NoRefreshToken), SessionEndReasons.Expired), false);
        }

        if (!lease.IsHeld)
        {
            // The lease ran out before the provider was called (this process was frozen, or the store unreachable):
            // another replica may hold the lock by now, so this one must not spend the refresh token.
            return (RefreshResult.StoreUnavailable(target, RefreshErrors.ReadFailed), false);
        }

        var refusedFor = resourceTokens.RefusedFor(current.Key, target, now);
        var call = refusedFor > TimeSpan.Zero
            ? new TokenCallResult(TokenCallStatus.Refused, null, refusedFor)
            : await tokenEndpoint.RefreshAsync(tokens.RefreshToken, target, cancellationToken);
        switch (call.Status)
        {
            case TokenCallStatus.GrantRejected:
                BffLog.RefreshRejected(logger, current.LogId);
                return (await EndSessionAsync(current, target, lease, "the provider rejected its refresh token",
                    new(Outcomes.Rejected, RefreshErrors.InvalidGrant), SessionEndReasons.RefreshRejected), false);
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
                    return (RefreshResult.Ready(current, target, new(Outcomes.ProviderUnavailable, errorType)), false);
                }

                return (RefreshResult.ProviderUnavailable(target, call.RetryAfter > TimeSpan.Zero ? call.RetryAfter : TokenEndpointClient.Cooldown, errorType), false);
        }

        var issued = call.Tokens!;

        // An ID token that fails the sign-in's checks makes the whole response untrustworthy (another user's tokens, or
        // not the provider's), and the old refresh token is spent: nothing of it is saved or forwarded, the session
        // ends. Not cancellable, like the save below. Without an id_token the session's own is kept.
        if (issued.IdToken is { } idToken
            && await idTokenValidator.ValidateAsync(idToken, current.Subject, tokens.IdToken, CancellationToken.None) is { } refusal)
        {
            BffLog.RefreshedIdTokenRefused(logger, current.LogId, refusal.Reason);
            return (await EndSessionAsync(current, target, lease, "the refreshed ID token was refused",
                new(Outcomes.Rejected, refusal.Mismatch ? RefreshErrors.IdTokenMismatch : RefreshErrors.IdTokenInvalid),
                SessionEndReasons.RefreshRejected), false);
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
                // RFC 6749 §6: a refresh response without scope granted what the original grant had.
                Scope = issued.Scope ?? tokens.Scope,
                Version = tokens.Version + 1,
                DPoPKeyThumbprint = issued.DPoPKeyThumbprint,
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
            if (target.IsDefault && options.Value.Claims.RefreshUserInfo)
            {
                switch (await RereadUserInfoAsync(session))
                {
                    case { } reread:
                        session = reread;
                        break;
                    default:
                        // The new access token speaks for another user: like a refreshed ID token for another user, nothing
                        // of this response is saved or forwarded, and the spent refresh token ends the session.
                        BffLog.UserInfoSubjectMismatch(logger, current.LogId);
                        return (await EndSessionAsync(current, target, lease, "userinfo named another subject",
                            new(Outcomes.Rejected, RefreshErrors.UserInfoMismatch), SessionEndReasons.RefreshRejected), false);
                }
            }

            // Fenced by the lease, and not cancellable: the provider has already spent the old refresh token.
            switch (await lease.SaveAsync(session))
            {
                case LeasedSave.NotFound:
                    return (RefreshResult.SessionGone(target), false);
                case LeasedSave.LeaseLost:
                    unsaved.Drop(session, "another holder took the refresh lock or saved newer tokens");
                    return (RefreshResult.StoreUnavailable(target, RefreshErrors.SaveFailed), false);
                case LeasedSave.Unavailable:
                    // Never forward tokens that were not saved, and never end the session for it: these are its only
                    // valid tokens now. They are saved once the store answers, under the same lease.
                    unsaved.Keep(session, lease);
                    return (RefreshResult.StoreUnavailable(target, RefreshErrors.SaveFailed), true);
            }

            BffLog.TokensRefreshed(logger, current.LogId, renewed.Version, target.ToString());
        }

        var authorization = issued.AuthorizationHeader;
        if (!target.IsDefault)
        {
            resourceTokens.Set(current.Key, target, new CachedToken(authorization, expiresAt, issued.Lifetime, issued.DPoPKeyThumbprint));
        }

        return (RefreshResult.Ready(session, target, authorization, new(Outcomes.Refreshed), issued.DPoPKeyThumbprint), false);
    }

    /// <summary>
    /// <c>Bff:Claims:RefreshUserInfo</c>: userinfo, read with the refreshed access token, and the (refreshed or kept) ID
    /// token give the session's claims again, exactly as at sign-in (<see cref="SessionClaims"/>). Null when userinfo
    /// names another subject; the session unchanged when userinfo cannot be read (a refresh never fails for it).
    /// Not cancellable: it runs between spending the refresh token and saving its successor.
    /// </summary>
    private async Task<UserSession?> RereadUserInfoAsync(UserSession session)
    {
        var read = await userInfo.GetAsync(session.Tokens.AccessToken, session.Tokens.DPoPKeyThumbprint, CancellationToken.None);
        if (read.Status != UserInfoStatus.Read)
        {
            BffLog.UserInfoRereadFailed(logger, session.LogId, read.Problem ?? "unknown");
            return session;
        }

        if (!string.Equals(read.Subject, session.Subject, StringComparison.Ordinal))
        {
            return null;
        }

        var idTokenClaims = IdTokenClaims(session.Tokens.IdToken);
        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            idTokenClaims.Concat(read.Claims.Where(c => !idTokenClaims.Any(i => i.Type == c.Type && i.Value == c.Value))), UserSession.AuthenticationType));
        var claims = SessionClaims.Build(principal, session.Tokens.IdToken, options.Value.Claims.Map);
        BffLog.UserInfoReread(logger, session.LogId, claims.Count);
        return session with { Claims = claims };
    }

    /// <summary>The claims of an ID token the gateway already validated (at sign-in or at this refresh).</summary>
    private static List<Claim> IdTokenClaims(string? idToken)
    {
        if (string.IsNullOrEmpty(idToken))
        {
            return [];
        }

        try
        {
            return [.. new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(idToken).Claims];
        }
        catch (ArgumentException)
        {
            return [];
        }
    }

    /// <param name="endReason">The <see cref="SessionEndReasons"/> value counted when the session is removed.</param>
    private async Task<RefreshResult> EndSessionAsync(
        UserSession session, TokenTarget target, IRefreshLease lease, string reason, RefreshReport report, string endReason)
    {
        // Counted once, by whoever removes it: a failed removal is retried by the next flight (the spent-token check).
        if (await RemoveSpentSessionAsync(session, lease))
        {
            metrics.SessionEnded(endReason);
            await events.PublishEndedAsync(
                session.Id,
                endReason == SessionEndReasons.Expired ? SessionEndReason.Expired : SessionEndReason.RefreshRejected);
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
