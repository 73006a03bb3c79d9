using Bff.Configuration;

namespace Bff.Spa;

/// <summary>
/// Client-side routes (<c>/orders/42</c>) get index.html so a reload or a deep link works. Only for a GET or HEAD
/// that no endpoint matched, whose last segment is not a file name, outside the gateway's own paths: an unknown
/// <c>/bff/…</c>, <c>/api/…</c>, health or callback URL stays a 404 Problem Details, a gateway endpoint called with
/// the wrong method stays a 405, and a missing asset stays a 404.
/// </summary>
internal sealed class SpaFallback(BffOptions options)
{
    private readonly PathString[] serverPaths = ["/bff", "/api", "/health", options.CallbackPath, options.SignedOutCallbackPath];

    public bool IsPageRequest(HttpContext context)
    {
        var request = context.Request;
        if (context.GetEndpoint() is not null || (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)))
        {
            return false;
        }

        var path = request.Path.Value ?? "/";
        var lastSegment = path[(path.LastIndexOf('/') + 1)..];
        return !lastSegment.Contains('.', StringComparison.Ordinal)
            && !serverPaths.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
    }

    public static Task ServeAsync(HttpContext context, Microsoft.Extensions.FileProviders.IFileInfo index)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = index.Length;
        SpaFiles.ApplyHeaders("/" + SpaFiles.IndexFile, response);
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.SendFileAsync(index, context.RequestAborted);
    }
}
