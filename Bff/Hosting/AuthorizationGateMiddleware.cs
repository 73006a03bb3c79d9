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
            // What no endpoint answers: the SPA's files, which a FallbackPolicy covers too (static files run after authorization).
            return IsPageNavigation(context.Request) ? SpaPageAsync(context) : next(context);
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

    /// <summary>
    /// A person opening a page of the SPA under a <c>FallbackPolicy</c> without a session is sent to sign in and back to
    /// that page, rather than shown the policy's 401 as a page; with a session, the policy judges the session's user.
    /// </summary>
    private async Task SpaPageAsync(HttpContext context)
    {
        if (await policies.GetFallbackPolicyAsync() is null)
        {
            await next(context);
            return;
        }

        var lookup = await sessions.ResolveAsync(context);
        if (lookup.Status == SessionLookupStatus.Found)
        {
            context.User = lookup.Session!.Principal;
        }
        else if (lookup.Status is SessionLookupStatus.NoCookie or SessionLookupStatus.NotFound
            && ReturnUrl.TryNormalize(context.Request.Path + context.Request.QueryString, out var page))
        {
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Redirect(SignInPaths.Login + QueryString.Create("returnUrl", page));
            return;
        }

        await next(context);
    }

    /// <summary>
    /// A top-level page load (<c>Sec-Fetch-Mode: navigate</c>, or from a browser that sends no fetch metadata, a GET
    /// asking for HTML): never a script's call, an asset, or a frame.
    /// </summary>
    private static bool IsPageNavigation(HttpRequest request)
    {
        if (!HttpMethods.IsGet(request.Method))
        {
            return false;
        }

        var mode = request.Headers["Sec-Fetch-Mode"];
        if (mode.Count > 0)
        {
            return mode.ToString() == "navigate" && request.Headers["Sec-Fetch-Dest"].ToString() is "" or "document";
        }

        return request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
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
