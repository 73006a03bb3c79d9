using System.Diagnostics;

namespace Bff.Observability;

/// <summary>
/// The span of the gateway operation a request is (login, callback, logout, back-channel logout), carried on the
/// request so that the code handling it can say how it ended without knowing who opened it.
/// </summary>
internal static class GatewayOperation
{
    public static void Set(HttpContext context, Activity activity) => context.Features.Set(new OperationFeature(activity));

    /// <summary>The request's operation span, or null when it has none (an API call, or nobody listens).</summary>
    public static Activity? Current(HttpContext context) => context.Features.Get<OperationFeature>()?.Activity;

    private sealed record OperationFeature(Activity Activity);
}
