using Bff.Authentication;
using Yarp.ReverseProxy;

namespace Bff.Proxy;

/// <summary>
/// The <c>Bff.Resource</c> of every route that carries the user's token (<c>User</c>, <c>UserOrClient</c>, <c>UserOrNone</c>): those are
/// obtained with the user's refresh token, so the sign-in names them. Client routes are left out (their tokens come
/// from client credentials). Read from the routes YARP has loaded and validated, at each sign-in: a reload counts from
/// the next sign-in, and a reload YARP refused never does.
/// </summary>
internal sealed class RouteResources(IProxyStateLookup proxyState) : ISignInResources
{
    public IReadOnlyList<string> Current()
    {
        SortedSet<string>? resources = null;
        foreach (var route in proxyState.GetRoutes())
        {
            var policy = RoutePolicy.Parse(route.Config, problems: null);
            if (policy.Token is RouteToken.User or RouteToken.UserOrClient or RouteToken.UserOrNone && policy.Target.Resource is { } resource)
            {
                // Ordinal: the refresh names the resource exactly as the route does, and providers compare it so.
                (resources ??= new SortedSet<string>(StringComparer.Ordinal)).Add(resource);
            }
        }

        return resources is null ? [] : [.. resources];
    }
}
