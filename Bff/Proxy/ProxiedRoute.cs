using Yarp.ReverseProxy.Model;

namespace Bff.Proxy;

/// <summary>
/// Whether a request goes to a YARP route. Routing runs first in the pipeline, so the gateway's own middleware can ask
/// before doing work an API call does not need: an API's answers pass through as the API sent them.
/// </summary>
internal static class ProxiedRoute
{
    public static bool Is(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is not null;
}
