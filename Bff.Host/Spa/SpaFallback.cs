using Bff.Configuration;
using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>
/// Client-side routes (<c>/orders/42</c>) get index.html so a reload or a deep link works. Never for the gateway's
/// own paths: an unknown <c>/bff/…</c>, <c>/api/…</c>, health or callback URL stays a 404 Problem Details.
/// </summary>
internal static class SpaFallback
{
    /// <summary>"nonfile": a path with a file extension is a static file, and a missing one is a 404, not the page.</summary>
    public const string Pattern = "{*path:nonfile}";

    public static Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var index = context.RequestServices.GetRequiredService<SpaFiles>().Index;
        if (index is null || !IsPageRequest(request, context.RequestServices.GetRequiredService<IOptions<BffOptions>>().Value))
        {
            // The gateway's status-code handling turns this into a Problem Details 404.
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        var response = context.Response;
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = index.Length;
        SpaFiles.ApplyHeaders("/" + SpaFiles.IndexFile, response);
        return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.SendFileAsync(index, context.RequestAborted);
    }

    private static bool IsPageRequest(HttpRequest request, BffOptions bff)
    {
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        PathString[] serverPaths = ["/bff", "/api", "/health", bff.CallbackPath, bff.SignedOutCallbackPath];
        return !serverPaths.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
    }
}
