using Bff.Authentication;
using Bff.Authorization;
using Bff.Csrf;
using Bff.Errors;
using Bff.LocalApis;
using Bff.Observability;
using Bff.Proxy;
using Bff.Sessions;
using Microsoft.AspNetCore.Authorization;

namespace Bff.Hosting;

/// <summary>
/// Runs just before ASP.NET Core's authorization middleware, for proxied routes and <c>RequireBffSession</c> endpoints
/// that carry an authorization policy (YARP's <c>AuthorizationPolicy</c>, <c>RequireAuthorization</c>,
/// <c>[Authorize]</c>): the anti-forgery rule first, as the route or endpoint would apply it, so a cross-site request
/// learns nothing from a 403 it could not have made; then the session, whose claims become <c>HttpContext.User</c> for
/// the policy (the lookup is remembered: the proxy and the guard do not read the store again); then the step-up
/// requirement of the route or endpoint (<c>Bff.Acr</c>, <c>Bff.MaxAge</c>, <c>RequireStepUp</c>), so that a user who
/// only needs a stronger sign-in is told so (401 <c>step_up_required</c>) rather than refused (403). Requests without
/// a policy pass untouched, unless the application set a <c>FallbackPolicy</c>, which ASP.NET Core applies to them: then
/// routes and local APIs are gated the same way, so the fallback sees the session's user. Composition: it needs to
/// know both kinds of endpoint.
/// </summary>
internal sealed class AuthorizationGateMiddleware(
    RequestDelegate next,
    SessionResolver sessions,
    ForgeryCheck forgeryCheck,
    BffMetrics metrics,
    StepUpAnswer stepUpAnswer,
    TimeProvider timeProvider,
    IAuthorizationPolicyProvider policies)
{
    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return next(context);
        }

        if (endpoint.Metadata.GetMetadata<IAuthorizeData>() is null && endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is null)
        {
            // No policy of its own: ASP.NET Core applies the application's FallbackPolicy, if it has one (and the endpoint
            // does not allow anonymous calls), and that too must see the session's user.
            if (endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null
                || (endpoint.Metadata.GetMetadata<RoutePolicy>() is null && endpoint.Metadata.GetMetadata<BffSessionEndpoint>() is null))
            {
                return next(context);
            }

            var fallback = policies.GetFallbackPolicyAsync();
            if (!fallback.IsCompletedSuccessfully)
            {
                return WithFallbackAsync(context, endpoint, fallback);
            }

            if (fallback.Result is null)
            {
                return next(context);
            }
        }

        return GateAsync(context, endpoint);
    }

    private async Task WithFallbackAsync(HttpContext context, Endpoint endpoint, Task<AuthorizationPolicy?> fallback)
    {
        if (await fallback is null)
        {
            await next(context);
            return;
        }

        await GateAsync(context, endpoint);
    }

    private Task GateAsync(HttpContext context, Endpoint endpoint)
    {
        string name;
        bool requireCsrf;
        if (endpoint.Metadata.GetMetadata<RoutePolicy>() is { } route)
        {
            (name, requireCsrf) = (route.RouteId, route.RequireCsrf);
        }
        else if (endpoint.Metadata.GetMetadata<BffSessionEndpoint>() is not null)
        {
            (name, requireCsrf) = (AuthorizedEndpoint.NameOf(context), true);
        }
        else
        {
            // An endpoint of the application's own that is not a local API: ASP.NET Core's rules, as the app set them.
            return next(context);
        }

        AuthorizedEndpoint.Set(context, name);
        if (requireCsrf && forgeryCheck.Refuse(context.Request, name) is { } forgery)
        {
            metrics.CsrfRejected(name);
            return BffProblem.WriteAsync(context, forgery);
        }

        return WithSessionAsync(context, endpoint, name);
    }

    private async Task WithSessionAsync(HttpContext context, Endpoint endpoint, string name)
    {
        var lookup = await sessions.ResolveAsync(context);
        switch (lookup.Status)
        {
            case SessionLookupStatus.Found:
                if (StepUpRequirement.FirstUnmet(endpoint.Metadata.GetOrderedMetadata<StepUpRequirement>(), lookup.Session!, timeProvider.GetUtcNow()) is { } unmet)
                {
                    await stepUpAnswer.RefuseAsync(context, unmet, name, TelemetryNames.StepUpSources.Endpoint);
                    return;
                }

                context.User = lookup.Session!.Principal;
                break;
            case SessionLookupStatus.Unavailable:
                await BffProblem.WriteAsync(context, BffError.SessionStoreUnavailable);
                return;
        }

        // No session: the policy decides. One that requires a user is answered 401 unauthenticated by the session
        // scheme's challenge; one that allows anonymous calls lets the request through.
        await next(context);
    }
}

internal static class AuthorizationGateExtensions
{
    /// <summary>
    /// The gate (<see cref="AuthorizationGateMiddleware"/>), then ASP.NET Core's authorization middleware. In the
    /// gateway's own pipeline rather than added by WebApplication at its start, where it would run before the
    /// public-origin check and the anti-forgery rule.
    /// </summary>
    public static IApplicationBuilder UseBffAuthorization(this IApplicationBuilder app)
    {
        app.UseMiddleware<AuthorizationGateMiddleware>();
        return app.UseAuthorization();
    }
}
