using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.Options;

namespace Bff.Authentication;

/// <summary>
/// ASP.NET Core's <c>UseAuthentication</c>, minus its per-request cost on every other path. The standard middleware
/// creates the OpenID Connect handler on every request (a request scope, the handler, its logger, its options) only to
/// learn that the path is not one of the handler's callback paths. The gateway has no default authenticate scheme
/// (endpoints and routes look their session up themselves), so the handler's own paths are the only requests on which
/// authentication middleware does anything: this one runs the request handlers there, exactly as the standard
/// middleware does, and lets every other request through untouched. A request handler of any other kind (a scheme a
/// user adds) makes it run them on every request, as the standard middleware would.
/// </summary>
internal sealed class BffAuthenticationMiddleware(
    RequestDelegate next,
    IAuthenticationSchemeProvider schemes,
    IOptionsMonitor<OpenIdConnectOptions> oidcOptions)
{
    /// <summary>Null: run the request handlers on every request. Read at the first request, after start-up validation.</summary>
    private Task<HashSet<PathString>?>? _handlerPaths;

    public Task InvokeAsync(HttpContext context)
    {
        // Not async itself, so that the common case (any other path) costs no state machine.
        var paths = _handlerPaths ??= CollectHandlerPathsAsync();
        if (paths.IsCompletedSuccessfully && paths.Result is { } handlerPaths && !handlerPaths.Contains(context.Request.Path))
        {
            return next(context);
        }

        return AuthenticateAsync(context, paths);
    }

    private async Task AuthenticateAsync(HttpContext context, Task<HashSet<PathString>?> handlerPaths)
    {
        if (await handlerPaths is { } paths && !paths.Contains(context.Request.Path))
        {
            await next(context);
            return;
        }

        context.Features.Set<IAuthenticationFeature>(new AuthenticationFeature
        {
            OriginalPath = context.Request.Path,
            OriginalPathBase = context.Request.PathBase,
        });

        var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        foreach (var scheme in await schemes.GetRequestHandlerSchemesAsync())
        {
            if (await handlers.GetHandlerAsync(context, scheme.Name) is IAuthenticationRequestHandler handler
                && await handler.HandleRequestAsync())
            {
                return;
            }
        }

        await next(context);
    }

    private async Task<HashSet<PathString>?> CollectHandlerPathsAsync()
    {
        var paths = new HashSet<PathString>();
        foreach (var scheme in await schemes.GetRequestHandlerSchemesAsync())
        {
            if (scheme.HandlerType != typeof(OpenIdConnectHandler))
            {
                return null;
            }

            var options = oidcOptions.Get(scheme.Name);
            paths.Add(options.CallbackPath);
            paths.Add(options.SignedOutCallbackPath);
            paths.Add(options.RemoteSignOutPath);
        }

        return paths;
    }
}
