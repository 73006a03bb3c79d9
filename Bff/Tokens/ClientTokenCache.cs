using Bff.Provider;
using System.Collections.Concurrent;
using Bff.Errors;
using Bff.Observability;
using static Bff.Observability.TelemetryNames;

namespace Bff.Tokens;

/// <summary>
/// The gateway's own client-credentials tokens, one per target (scope and resource), cached until they enter the
/// refresh window. One token request per target at a time: concurrent callers share it.
/// <para>
/// Each token request is a <c>bff.token.refresh</c> span and a <c>bff.token.refreshes</c> count, like a session's
/// refresh flight, told apart by <c>bff.token.grant=client_credentials</c>: both measure the same provider endpoint.
/// </para>
/// </summary>
internal sealed class ClientTokenCache(
    TokenEndpointClient tokenEndpoint,
    RefreshWindow refreshWindow,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<ClientTokenCache> logger)
{
    private static readonly TimeSpan FlightBudget = ProviderHttp.Timeout + TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<TokenTarget, CachedToken> _tokens = new();
    private readonly SingleFlight<TokenTarget, TokenResult> _flights = new();

    /// <summary>Targets the provider refused (say <c>invalid_scope</c>), until when not to ask again.</summary>
    private readonly ConcurrentDictionary<TokenTarget, DateTimeOffset> _refusals = new();

    public ValueTask<TokenResult> GetAsync(TokenTarget target, CancellationToken cancellationToken) =>
        TryGetCached(target, out var cached)
            ? ValueTask.FromResult(cached)
            : new ValueTask<TokenResult>(Join(target).WaitAsync(cancellationToken));

    private bool TryGetCached(TokenTarget target, out TokenResult cached)
    {
        if (_tokens.TryGetValue(target, out var token) && refreshWindow.IsUsable(token, timeProvider.GetUtcNow()))
        {
            cached = TokenResult.Header(token.Authorization, token.DPoPThumbprint);
            return true;
        }

        cached = default;
        return false;
    }

    private Task<TokenResult> Join(TokenTarget target) =>
        _flights.Join(target, this, static (target, cache) => cache.FetchAsync(target));

    private Task<TokenResult> FetchAsync(TokenTarget target) =>
        TryGetCached(target, out var cached)
            ? Task.FromResult(cached)
            : RequestAsync(target);

    private async Task<TokenResult> RequestAsync(TokenTarget target)
    {
        if (_refusals.TryGetValue(target, out var refusedUntil) && refusedUntil > timeProvider.GetUtcNow())
        {
            return TokenResult.Fail(BffError.TokenRefreshUnavailable, refusedUntil - timeProvider.GetUtcNow());
        }

        using var activity = BffActivitySource.StartClientCredentials();
        var started = timeProvider.GetTimestamp();
        using var budget = new CancellationTokenSource(FlightBudget, timeProvider);
        TokenCallResult call;
        var timedOut = false;
        try
        {
            call = await tokenEndpoint.ClientCredentialsAsync(target, budget.Token);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            call = TokenCallResult.Unavailable(TokenEndpointClient.Cooldown);
            timedOut = true;
        }

        if (call.Status != TokenCallStatus.Succeeded)
        {
            var (outcome, errorType) = call.Status switch
            {
                TokenCallStatus.Refused => (Outcomes.ProviderUnavailable, RefreshErrors.Refused),
                TokenCallStatus.ClientRejected => (Outcomes.ProviderUnavailable, RefreshErrors.ClientRejected),
                _ => (Outcomes.ProviderUnavailable, timedOut ? RefreshErrors.Timeout : RefreshErrors.Unavailable),
            };
            if (call.Status == TokenCallStatus.Refused)
            {
                // Not a refresh token that could die: asking again at once would only be refused again.
                _refusals[target] = timeProvider.GetUtcNow() + call.RetryAfter;
            }

            activity.SetFailure(outcome, errorType);
            metrics.RefreshCompleted(outcome, timeProvider.GetElapsedTime(started), TokenGrants.ClientCredentials);
            return TokenResult.Fail(BffError.TokenRefreshUnavailable,
                call.RetryAfter > TimeSpan.Zero ? call.RetryAfter : TokenEndpointClient.Cooldown);
        }

        var issued = call.Tokens!;
        var authorization = issued.AuthorizationHeader;
        _tokens[target] = new CachedToken(authorization, timeProvider.GetUtcNow() + issued.Lifetime, issued.Lifetime, issued.DPoPKeyThumbprint);
        _refusals.TryRemove(target, out _);
        BffLog.ClientTokenObtained(logger, target.ToString(), (int)issued.Lifetime.TotalSeconds);
        activity.SetOutcome(Outcomes.Refreshed);
        metrics.RefreshCompleted(Outcomes.Refreshed, timeProvider.GetElapsedTime(started), TokenGrants.ClientCredentials);
        return TokenResult.Header(authorization, issued.DPoPKeyThumbprint);
    }
}
