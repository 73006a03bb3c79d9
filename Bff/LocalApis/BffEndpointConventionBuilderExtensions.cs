using Bff.LocalApis;

namespace Bff;

/// <summary>Local APIs: endpoints of the host's own that the gateway guards as it guards a proxied route.</summary>
public static class BffEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Guards the endpoints as a proxied route with <c>Bff.Token=User</c> is guarded, before the handler (and its model
    /// binding) runs: a request without <c>X-CSRF: 1</c> is answered 401 <c>csrf_header_missing</c> (a WebSocket upgrade
    /// must instead come from the gateway's own origin, else 403 <c>origin_mismatch</c>); a request without a session 401
    /// <c>unauthenticated</c>; and while the session store is unreachable 503 <c>session_store_unavailable</c>, all as
    /// Problem Details. A session found is slid like a proxied call's, and its claims become <c>HttpContext.User</c>.
    /// Calls to downstream APIs take their token from <see cref="IBffAccessTokens"/>.
    /// <para>
    /// Works on minimal-API endpoints, groups (<c>MapGroup</c>) and controllers (<c>MapControllers()</c>). Authorization
    /// policies (<c>RequireAuthorization("policy")</c>, <c>[Authorize(Policy = …)]</c>) are evaluated on the session's
    /// user after the anti-forgery check and the session lookup: a signed-in user the policy refuses gets 403
    /// <c>forbidden</c> and the handler does not run.
    /// </para>
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoints to guard.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException">
    /// When the endpoints are built: one of them has no request delegate to guard (a kind of endpoint the guard cannot wrap).
    /// </exception>
    public static TBuilder RequireBffSession<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(static endpoint =>
        {
            // Fail closed: an endpoint the guard cannot wrap must not be served unguarded.
            var inner = endpoint.RequestDelegate
                ?? throw new InvalidOperationException($"RequireBffSession cannot guard the endpoint '{endpoint.DisplayName}': it has no request delegate.");
            endpoint.Metadata.Add(BffSessionEndpoint.Instance);
            LocalApiGuard? guard = null;
            endpoint.RequestDelegate = context =>
            {
                guard ??= context.RequestServices.GetService<LocalApiGuard>()
                    ?? throw new InvalidOperationException("RequireBffSession needs the gateway's services: call builder.AddBff() first.");
                return guard.InvokeAsync(context, inner);
            };
        });
        return builder;
    }
}
