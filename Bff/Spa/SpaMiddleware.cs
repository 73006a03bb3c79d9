using Bff.Configuration;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>
/// The SPA's static files (headers from <see cref="SpaFiles"/>) and the index.html fallback for client-side routes.
/// Runs after routing has chosen (or not chosen) an endpoint, so the gateway's endpoints and YARP routes always win.
/// </summary>
internal sealed class SpaMiddleware
{
    private readonly RequestDelegate staticFiles;
    private readonly SpaFiles files;
    private readonly SpaFallback fallback;

    public SpaMiddleware(
        RequestDelegate next,
        SpaFiles files,
        IOptions<BffOptions> bffOptions,
        IWebHostEnvironment environment,
        ILoggerFactory loggerFactory)
    {
        this.files = files;
        fallback = new SpaFallback(bffOptions.Value);
        staticFiles = new StaticFileMiddleware(
            next,
            environment,
            Options.Create(new StaticFileOptions
            {
                FileProvider = files.Provider,
                OnPrepareResponse = context => SpaFiles.ApplyHeaders(context.Context.Request.Path, context.Context.Response),
            }),
            loggerFactory).Invoke;
    }

    public Task InvokeAsync(HttpContext context) =>
        fallback.IsPageRequest(context) && files.Index is { } index
            ? SpaFallback.ServeAsync(context, index)
            : staticFiles(context);
}
