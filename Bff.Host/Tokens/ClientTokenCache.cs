using System.Collections.Concurrent;
using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Tokens;

/// <summary>
/// The gateway's own client-credentials tokens, one per target (scope and resource), cached until they enter the
/// refresh window. One token request per target at a time: concurrent callers share it.
/// </summary>
internal sealed class ClientTokenCache(
    TokenEndpointClient tokenEndpoint,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    ILogger<ClientTokenCache> logger)
{
    private static readonly TimeSpan FlightBudget = RefreshCoordinator.LockTtl;

    private readonly ConcurrentDictionary<TokenTarget, CachedToken> _tokens = new();
    private readonly ConcurrentDictionary<TokenTarget, Task<TokenResult>> _flights = new();
    private readonly TimeSpan _refreshBeforeExpiry = options.Value.Tokens.RefreshBeforeExpiry;

    public ValueTask<TokenResult> GetAsync(TokenTarget target, CancellationToken cancellationToken) =>
        TryGetCached(target, out var authorization)
            ? ValueTask.FromResult(TokenResult.Header(authorization))
            : new ValueTask<TokenResult>(Join(target).WaitAsync(cancellationToken));

    private bool TryGetCached(TokenTarget target, out string authorization)
    {
        if (_tokens.TryGetValue(target, out var token) && token.IsUsable(timeProvider.GetUtcNow(), _refreshBeforeExpiry))
        {
            authorization = token.Authorization;
            return true;
        }

        authorization = string.Empty;
        return false;
    }

    private Task<TokenResult> Join(TokenTarget target)
    {
        while (true)
        {
            if (_flights.TryGetValue(target, out var running))
            {
                return running;
            }

            var completion = new TaskCompletionSource<TokenResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_flights.TryAdd(target, completion.Task))
            {
                _ = FetchAsync(target, completion);
                return completion.Task;
            }
        }
    }

    private async Task FetchAsync(TokenTarget target, TaskCompletionSource<TokenResult> completion)
    {
        TokenResult result = default;
        Exception? failure = null;
        try
        {
            result = TryGetCached(target, out var authorization)
                ? TokenResult.Header(authorization)
                : await RequestAsync(target);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        _flights.TryRemove(new KeyValuePair<TokenTarget, Task<TokenResult>>(target, completion.Task));
        if (failure is not null)
        {
            completion.TrySetException(failure);
        }
        else
        {
            completion.TrySetResult(result);
        }
    }

    private async Task<TokenResult> RequestAsync(TokenTarget target)
    {
        using var budget = new CancellationTokenSource(FlightBudget, timeProvider);
        TokenCallResult call;
        try
        {
            call = await tokenEndpoint.ClientCredentialsAsync(target, budget.Token);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            call = TokenCallResult.Unavailable(TokenEndpointClient.Cooldown);
        }

        if (call.Status != TokenCallStatus.Succeeded)
        {
            return TokenResult.Fail(BffError.TokenRefreshUnavailable,
                call.RetryAfter > TimeSpan.Zero ? call.RetryAfter : TokenEndpointClient.Cooldown);
        }

        var issued = call.Tokens!;
        var authorization = "Bearer " + issued.AccessToken;
        _tokens[target] = new CachedToken(authorization, timeProvider.GetUtcNow() + issued.Lifetime);
        BffLog.ClientTokenObtained(logger, target.ToString(), (int)issued.Lifetime.TotalSeconds);
        return TokenResult.Header(authorization);
    }
}
