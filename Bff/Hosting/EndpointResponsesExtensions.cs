using Bff.Configuration;
using Bff.Endpoints;
using Bff.Errors;
using Bff.Proxy;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Bff.Hosting;

/// <summary>
/// How the gateway's own endpoints answer, as opposed to proxied routes, whose answers pass through as the API sent
/// them. Composition: it needs to know both kinds of endpoint.
/// </summary>
internal static class EndpointResponsesExtensions
{
    /// <summary>
    /// What the gateway's own endpoints (everything but proxied routes) answer with: every failure as Problem Details
    /// with a stable code, an unexpected exception as a generic 500 without a stack trace in every environment,
    /// <c>X-Content-Type-Options: nosniff</c>, and the cache and referrer headers of <see cref="UseBffResponseHeaders"/>.
    /// </summary>
    public static IApplicationBuilder UseBffEndpointResponses(this IApplicationBuilder app) =>
        // One branch, decided once per request: a proxied route skips all of it. The proxy middleware answers
        // exceptions itself (without the exception handler's per-request state machine on the hot path), and an API's
        // answers, a bare 404 or 500 included, reach the SPA as the API sent them.
        app.UseWhen(static context => !ProxiedRoute.Is(context), static gatewayOwn =>
        {
            gatewayOwn.Use(static (context, next) =>
            {
                context.Response.OnStarting(static state =>
                {
                    ((HttpResponse)state).Headers.XContentTypeOptions = "nosniff";
                    return Task.CompletedTask;
                }, context.Response);
                return next(context);
            });
            gatewayOwn.UseExceptionHandler(new ExceptionHandlerOptions
            {
                ExceptionHandler = static context =>
                {
                    var feature = context.Features.Get<IExceptionHandlerPathFeature>();
                    return UnhandledFailure.WriteAsync(context, feature?.Error, feature?.Path ?? context.Request.Path);
                },
            });
            gatewayOwn.UseStatusCodePages(StatusCodeProblemAsync);
            gatewayOwn.UseBffResponseHeaders();
        });

    /// <summary>A bodiless error status from the gateway's own endpoints (404, 405, …) as Problem Details.</summary>
    private static Task StatusCodeProblemAsync(StatusCodeContext statusContext)
    {
        var response = statusContext.HttpContext.Response;
        var error = response.StatusCode switch
        {
            StatusCodes.Status404NotFound => BffError.NotFound,
            StatusCodes.Status405MethodNotAllowed => BffError.MethodNotAllowed,
            StatusCodes.Status401Unauthorized => BffError.Unauthenticated,
            StatusCodes.Status403Forbidden => BffError.Forbidden,
            _ => new BffError("http_" + response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), response.StatusCode, "The request failed."),
        };
        return BffProblem.WriteAsync(statusContext.HttpContext, error);
    }

    /// <summary>
    /// <c>no-store</c> on every gateway endpoint (their answers are per-user), <c>Referrer-Policy: no-referrer</c>
    /// where the URL carries a code or state.
    /// </summary>
    private static IApplicationBuilder UseBffResponseHeaders(this IApplicationBuilder app)
    {
        // Read at the first request, after start-up validation: reading the options while the pipeline is composed
        // would turn a refused configuration into an unhandled exception instead of the clean start-up message.
        var callbacks = new Lazy<(PathString Callback, PathString SignedOut)>(() =>
        {
            var options = app.ApplicationServices.GetRequiredService<IOptions<BffOptions>>().Value;
            return (new PathString(options.CallbackPath), new PathString(options.SignedOutCallbackPath));
        });
        var bff = new PathString("/bff");
        var jwks = new PathString(JwksEndpoint.Path);

        return app.Use((context, next) =>
        {
            var path = context.Request.Path;
            var (callback, signedOut) = callbacks.Value;
            var isCallback = path.StartsWithSegments(callback) || path.StartsWithSegments(signedOut);
            // The client's public keys are the same for everyone and meant to be cached (JwksEndpoint sets how long).
            if (isCallback || (path.StartsWithSegments(bff) && !path.Equals(jwks, StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.OnStarting(static state =>
                {
                    var (response, referrer) = ((HttpResponse, bool))state;
                    response.Headers.CacheControl = "no-store";
                    response.Headers.Pragma = "no-cache";
                    if (referrer)
                    {
                        response.Headers["Referrer-Policy"] = "no-referrer";
                    }

                    return Task.CompletedTask;
                }, (context.Response, isCallback));
            }

            return next(context);
        });
    }
}
