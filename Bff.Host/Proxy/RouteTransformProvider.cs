using Bff.Observability;
using Bff.Sessions;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Bff.Proxy;

/// <summary>
/// YARP's hook into route loading: refuses routes whose <c>Bff.*</c> metadata is wrong (at start-up and on every
/// reload), and gives every route the header hygiene that must hold whatever other transforms it configures.
/// </summary>
internal sealed class RouteTransformProvider(SessionCookie sessionCookie, ILogger<RouteTransformProvider> logger) : ITransformProvider
{
    private static readonly Func<RequestTransformContext, ValueTask> RemoveCookieHeader = static context =>
    {
        // Providers apply after the route's own transforms, so this runs after anything that copied or set it.
        context.ProxyRequest.Headers.Remove(HeaderNames.Cookie);
        return ValueTask.CompletedTask;
    };

    private readonly string _sessionCookiePrefix = sessionCookie.Name + "=";

    public void ValidateRoute(TransformRouteValidationContext context)
    {
        var problems = new List<string>();
        RoutePolicy.Parse(context.Route, problems);
        foreach (var problem in problems)
        {
            context.Errors.Add(new InvalidOperationException(problem));
        }
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        var routeId = context.Route.RouteId;
        context.AddRequestTransform(RemoveCookieHeader);
        context.AddResponseTransform(response => DropSessionCookie(response, routeId));
    }

    /// <summary>An API must not be able to set, replace or delete the gateway's session cookie.</summary>
    private ValueTask DropSessionCookie(ResponseTransformContext context, string routeId)
    {
        var headers = context.HttpContext.Response.Headers;
        var setCookies = headers.SetCookie;
        if (context.ProxyResponse is null || setCookies.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var kept = new List<string>(setCookies.Count);
        foreach (var setCookie in setCookies)
        {
            if (setCookie is not null && !setCookie.TrimStart().StartsWith(_sessionCookiePrefix, StringComparison.Ordinal))
            {
                kept.Add(setCookie);
            }
        }

        if (kept.Count != setCookies.Count)
        {
            headers.SetCookie = kept.ToArray();
            BffLog.UpstreamSessionCookieDropped(logger, routeId);
        }

        return ValueTask.CompletedTask;
    }
}
