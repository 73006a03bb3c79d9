using Bff.Authentication;
using Bff.Configuration;
using Bff.Observability;
using Bff.Sessions;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Bff.Proxy;

/// <summary>
/// YARP's hook into route loading: refuses routes whose <c>Bff.*</c> metadata is wrong (at start-up and on every
/// reload), and gives every route the header hygiene that must hold whatever other transforms it configures. On routes
/// that carry the user's token it also turns an API's RFC 9470 step-up challenge into the gateway's own
/// <c>step_up_required</c> answer (<see cref="StepUpChallenge"/>).
/// </summary>
internal sealed class RouteTransformProvider(
    SessionCookie sessionCookie,
    StepUpAnswer stepUpAnswer,
    IOptions<BffOptions> options,
    ILogger<RouteTransformProvider> logger) : ITransformProvider
{
    private static readonly Func<RequestTransformContext, ValueTask> RemoveCookieHeader = static context =>
    {
        // Providers apply after the route's own transforms, so this runs after anything that copied or set it.
        context.ProxyRequest.Headers.Remove(HeaderNames.Cookie);

        // Addressed to the gateway (where a step-up sign-in returns to), not to the API. Kept on the browser's request,
        // where an API's step-up challenge is answered.
        context.ProxyRequest.Headers.Remove(StepUpAnswer.ReturnUrlHeader);
        // The proof itself is made in YARP's HttpClient (DPoPUpstreamHandler), where the destination URL is final;
        // a DPoP header from the browser never goes upstream.
        context.ProxyRequest.Headers.Remove(DPoP.DPoPProof.HeaderName);
        if (context.HttpContext.Features.Get<DPoPBoundCall>() is { } bound)
        {
            context.ProxyRequest.Options.Set(DPoPBoundCall.Option, bound);
        }

        return ValueTask.CompletedTask;
    };

    private const string ClearSiteData = "Clear-Site-Data";

    private readonly string _sessionCookieName = sessionCookie.Name;

    public void ValidateRoute(TransformRouteValidationContext context)
    {
        var problems = new List<string>();
        var policy = RoutePolicy.Parse(context.Route, problems);
        foreach (var problem in problems)
        {
            context.Errors.Add(new InvalidOperationException(problem));
        }

        if (policy.DPoPMode == RouteDPoP.Require && !DPoPEnabled())
        {
            context.Errors.Add(new InvalidOperationException(
                $"Route '{policy.RouteId}': metadata '{RoutePolicy.DPoPMetadataKey}' Require needs Bff:DPoP:Enabled true; without DPoP every call on this route would be refused"));
        }

        if (problems.Count == 0 && policy.CsrfOffAcknowledged)
        {
            BffLog.CsrfOffAcknowledged(logger, policy.RouteId, policy.Token.ToString());
        }
    }

    /// <summary>Whether DPoP is on; true while the settings themselves are refused (start-up reports those instead).</summary>
    private bool DPoPEnabled()
    {
        try
        {
            return options.Value.DPoP.Enabled;
        }
        catch (OptionsValidationException)
        {
            return true;
        }
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var routeId = context.Route.RouteId;
        var policy = RoutePolicy.Parse(context.Route, problems: null);
        var mode = policy.UpstreamCookies;
        context.AddRequestTransform(RemoveCookieHeader);
        context.AddResponseTransform(response => FilterSetCookies(response, routeId, mode));
        if (policy.Token is RouteToken.User or RouteToken.UserOrClient or RouteToken.UserOrNone)
        {
            // Added after the cookie filter: a translated answer drops every header the API sent anyway.
            context.AddResponseTransform(response => TranslateStepUpChallengeAsync(response, routeId));
        }
    }

    /// <summary>
    /// An API's <c>401</c> with an RFC 9470 challenge would look to the SPA like "signed out": it becomes
    /// <c>401 step_up_required</c> with a login URL that asks the provider for what the API wants. A challenge that
    /// cannot be used passes through as the plain 401 it is, with a warning.
    /// </summary>
    private async ValueTask TranslateStepUpChallengeAsync(ResponseTransformContext context, string routeId)
    {
        if (context.ProxyResponse is not { StatusCode: System.Net.HttpStatusCode.Unauthorized })
        {
            return;
        }

        var response = context.HttpContext.Response;
        switch (StepUpChallenge.Read(response.Headers.WWWAuthenticate, out var requirement, out var problem))
        {
            case StepUpChallenge.Outcome.StepUp:
                context.SuppressResponseBody = true;
                response.Headers.Clear();
                await stepUpAnswer.RefuseAsync(context.HttpContext, requirement!, routeId, TelemetryNames.StepUpSources.Upstream);
                break;
            case StepUpChallenge.Outcome.Unusable:
                BffLog.UnusableStepUpChallenge(logger, routeId, problem!);
                break;
        }
    }

    /// <summary>
    /// An API shares the gateway's origin: a cookie it sets rides on every later request to the gateway. It must never
    /// set, replace or delete one of the gateway's cookies (nor have the browser clear them), and by default it sets
    /// none at all.
    /// </summary>
    private ValueTask FilterSetCookies(ResponseTransformContext context, string routeId, UpstreamCookies mode)
    {
        if (context.ProxyResponse is null)
        {
            return ValueTask.CompletedTask;
        }

        var headers = context.HttpContext.Response.Headers;
        if (headers.Remove(ClearSiteData))
        {
            // "cookies" (or "*") would make the browser delete the gateway's cookies: a logout by any API.
            BffLog.UpstreamClearSiteDataDropped(logger, routeId);
        }

        var setCookies = headers.SetCookie;
        if (setCookies.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var gatewayCookies = 0;
        var allowed = 0;
        for (var i = 0; i < setCookies.Count; i++)
        {
            switch (UpstreamSetCookie.Judge(setCookies[i], _sessionCookieName))
            {
                case UpstreamSetCookie.Verdict.GatewayCookie or UpstreamSetCookie.Verdict.Malformed:
                    gatewayCookies++;
                    break;
                case UpstreamSetCookie.Verdict.Allowed when mode == UpstreamCookies.Allow && allowed < UpstreamSetCookie.MaxPerResponse:
                    allowed++;
                    break;
            }
        }

        if (gatewayCookies > 0)
        {
            BffLog.UpstreamSessionCookieDropped(logger, routeId);
        }

        if (allowed == setCookies.Count)
        {
            return ValueTask.CompletedTask;
        }

        if (mode == UpstreamCookies.Drop)
        {
            BffLog.UpstreamCookiesDropped(logger, routeId, setCookies.Count);
            headers.Remove(HeaderNames.SetCookie);
            return ValueTask.CompletedTask;
        }

        var kept = new string[allowed];
        var next = 0;
        for (var i = 0; i < setCookies.Count && next < allowed; i++)
        {
            if (UpstreamSetCookie.Judge(setCookies[i], _sessionCookieName) == UpstreamSetCookie.Verdict.Allowed)
            {
                kept[next++] = setCookies[i]!;
            }
        }

        if (setCookies.Count - allowed > gatewayCookies)
        {
            BffLog.UpstreamCookiesOverLimit(logger, routeId, setCookies.Count - allowed - gatewayCookies, UpstreamSetCookie.MaxPerResponse, UpstreamSetCookie.MaxLength);
        }

        headers.SetCookie = kept;
        return ValueTask.CompletedTask;
    }
}
