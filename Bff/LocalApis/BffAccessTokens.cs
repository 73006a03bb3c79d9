using Bff.DPoP;
using Bff.Errors;
using Bff.Provider;
using Bff.Sessions;
using Bff.Tokens;

namespace Bff.LocalApis;

/// <summary>
/// <see cref="IBffAccessTokens"/> over the proxy's own token machinery: <see cref="UserTokenProvider"/> (and through it
/// <see cref="RefreshCoordinator"/>'s single-flight refresh) for the user, <see cref="ClientTokenCache"/> for the client.
/// The session comes from <see cref="SessionResolver"/>, which remembers what the request's guard already found.
/// </summary>
internal sealed class BffAccessTokens(
    SessionResolver sessions,
    SessionCookie cookie,
    UserTokenProvider userTokens,
    ClientTokenCache clientTokens,
    DPoPKeys dpopKeys,
    DPoPNonces dpopNonces,
    TimeProvider timeProvider) : IBffAccessTokens
{
    public async ValueTask<BffAccessTokenResult> GetUserAccessTokenAsync(HttpContext context, string? scope = null, string? resource = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var target = Target(scope, resource);
        var lookup = await sessions.ResolveAsync(context);
        var token = lookup.Status switch
        {
            SessionLookupStatus.Found => await userTokens.GetAsync(context, lookup.Session!, target),
            SessionLookupStatus.Unavailable => TokenResult.Fail(BffError.SessionStoreUnavailable),
            _ => TokenResult.Fail(BffError.Unauthenticated),
        };

        if (ReferenceEquals(token.Error, BffError.SessionExpired) && !context.Response.HasStarted)
        {
            // The provider ended the session: the browser's cookie names nothing any more, as after a proxied call.
            cookie.Delete(context.Response);
        }

        return await ToResultAsync(token, context.RequestAborted);
    }

    public async ValueTask<BffAccessTokenResult> GetClientAccessTokenAsync(string? scope = null, string? resource = null, CancellationToken cancellationToken = default) =>
        await ToResultAsync(await clientTokens.GetAsync(Target(scope, resource), cancellationToken), cancellationToken);

    private async ValueTask<BffAccessTokenResult> ToResultAsync(TokenResult token, CancellationToken cancellationToken)
    {
        if (token.Error is { } error)
        {
            return BffAccessTokenResult.Fail(error, token.RetryAfter);
        }

        if (token.DPoPThumbprint is not { } thumbprint)
        {
            return BffAccessTokenResult.FromAuthorization(token.Authorization!);
        }

        if (await dpopKeys.FindAsync(thumbprint, cancellationToken) is not { } key)
        {
            return BffAccessTokenResult.Fail(BffError.DPoPUnavailable);
        }

        var accessToken = token.Authorization!["DPoP ".Length..];
        return BffAccessTokenResult.FromDPoPAuthorization(token.Authorization!, (method, target) =>
            DPoPProof.Create(key, method.Method, target, timeProvider.GetUtcNow(), accessToken, dpopNonces.Get(target)));
    }

    /// <summary>The same rules as a route's <c>Bff.Scope</c> and <c>Bff.Resource</c> (<c>RoutePolicy</c>).</summary>
    private static TokenTarget Target(string? scope, string? resource)
    {
        if (scope is null && resource is null)
        {
            return TokenTarget.Default;
        }

        if (scope is not null && !TokenTarget.IsScopeList(scope))
        {
            throw new ArgumentException("Use space-separated OAuth scopes such as 'orders.read orders.write'.", nameof(scope));
        }

        if (resource is not null && !TokenTarget.IsResourceIndicator(resource))
        {
            throw new ArgumentException("Use an absolute URI without a fragment, such as 'https://api.example.com/orders' (RFC 8707).", nameof(resource));
        }

        return new TokenTarget(scope, resource);
    }
}
