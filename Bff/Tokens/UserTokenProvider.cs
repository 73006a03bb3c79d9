using Bff.Errors;
using Bff.Provider;
using Bff.Sessions;

namespace Bff.Tokens;

/// <summary>
/// The signed-in user's access token for a request: straight from the session (or the resource-token cache) while it
/// is outside the refresh window (<see cref="RefreshWindow"/>), which is the hot path and does not allocate beyond the header value; through
/// <see cref="RefreshCoordinator"/> otherwise.
/// </summary>
internal sealed class UserTokenProvider(
    RefreshCoordinator coordinator,
    ResourceTokenCache resourceTokens,
    RefreshWindow refreshWindow,
    TimeProvider timeProvider)
{
    /// <summary>Flights one request may join: a flight for another target of its session makes it ask again.</summary>
    private const int MaxFlights = 3;

    public ValueTask<TokenResult> GetAsync(HttpContext context, UserSession session, TokenTarget target) =>
        TryGetCurrent(session, target, out var current)
            ? ValueTask.FromResult(current)
            : RefreshAsync(context, session, target);

    private bool TryGetCurrent(UserSession session, TokenTarget target, out TokenResult result)
    {
        var now = timeProvider.GetUtcNow();
        if (target.IsDefault)
        {
            if (!refreshWindow.IsDue(session.Tokens, now))
            {
                result = TokenResult.Header(session.Tokens.AuthorizationHeader, session.Tokens.DPoPKeyThumbprint);
                return true;
            }
        }
        else if (resourceTokens.TryGet(session.Key, target, now, refreshWindow, out var cached))
        {
            result = TokenResult.Header(cached.Authorization, cached.DPoPThumbprint);
            return true;
        }

        result = default;
        return false;
    }

    private async ValueTask<TokenResult> RefreshAsync(HttpContext context, UserSession session, TokenTarget target)
    {
        for (var flight = 0; flight < MaxFlights; flight++)
        {
            var refreshed = await coordinator.RefreshAsync(session, target).WaitAsync(context.RequestAborted);
            switch (refreshed.Outcome)
            {
                case RefreshOutcome.SessionEnded:
                    SessionResolver.Remember(context, SessionLookup.NotFound);
                    return TokenResult.Fail(BffError.SessionExpired);
                case RefreshOutcome.StoreUnavailable:
                    return TokenResult.Fail(BffError.SessionStoreUnavailable);
                case RefreshOutcome.ProviderUnavailable:
                    return TokenResult.Fail(BffError.TokenRefreshUnavailable, refreshed.RetryAfter);
            }

            session = refreshed.Session!;
            SessionResolver.Remember(context, SessionLookup.Found(session));
            if (refreshed.Target == target)
            {
                return TokenResult.Header(refreshed.Authorization!, refreshed.DPoPThumbprint);
            }

            if (TryGetCurrent(session, target, out var current))
            {
                return current;
            }
        }

        return TokenResult.Fail(BffError.TokenRefreshUnavailable);
    }
}
