namespace Bff;

/// <summary>
/// Access tokens for an endpoint of the host's own (a local API, see
/// <see cref="BffEndpointConventionBuilderExtensions.RequireBffSession{TBuilder}"/>) to call a downstream API with:
/// the signed-in user's, or the gateway's own client-credentials token. Tokens come from the same place the proxy
/// takes them from: a token inside its refresh window is refreshed first, once, however many requests ask at the same
/// time (and across replicas with Redis sessions). Inject it into a handler or a controller.
/// </summary>
public interface IBffAccessTokens
{
    /// <summary>
    /// The signed-in user's access token for this request. Fails, without throwing, with <c>unauthenticated</c> (no
    /// session), <c>session_expired</c> (the provider refused the refresh token: the session has ended and its cookie is
    /// deleted), <c>session_store_unavailable</c> or <c>token_refresh_unavailable</c> (try again after
    /// <see cref="BffAccessTokenResult.RetryAfter"/>).
    /// </summary>
    /// <param name="context">The current request, which carries the session cookie.</param>
    /// <param name="scope">Space-separated scopes of a narrower token (as a route's <c>Bff.Scope</c>); null for the sign-in's token.</param>
    /// <param name="resource">The API's resource indicator, an absolute URI (RFC 8707, as a route's <c>Bff.Resource</c>); null for none.</param>
    /// <returns>The token, or the error to answer the caller with (<see cref="BffAccessTokenResult.ToProblem"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="scope"/> or <paramref name="resource"/> is not usable.</exception>
    ValueTask<BffAccessTokenResult> GetUserAccessTokenAsync(HttpContext context, string? scope = null, string? resource = null);

    /// <summary>
    /// The gateway's own access token (client credentials), cached until it enters its refresh window; concurrent callers
    /// share one token request. Fails, without throwing, with <c>token_refresh_unavailable</c> when the provider cannot
    /// issue one.
    /// </summary>
    /// <param name="scope">Space-separated scopes; null for the client's default.</param>
    /// <param name="resource">The API's resource indicator, an absolute URI (RFC 8707); null for none.</param>
    /// <param name="cancellationToken">Stops waiting (the token request itself goes on for other callers).</param>
    /// <returns>The token, or the error to answer the caller with (<see cref="BffAccessTokenResult.ToProblem"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="scope"/> or <paramref name="resource"/> is not usable.</exception>
    ValueTask<BffAccessTokenResult> GetClientAccessTokenAsync(string? scope = null, string? resource = null, CancellationToken cancellationToken = default);
}
