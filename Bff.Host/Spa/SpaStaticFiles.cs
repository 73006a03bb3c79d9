using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;

namespace Bff.Spa;

/// <summary>
/// Static files from the SPA root. Built when the pipeline is built (after start-up validation), so a bad
/// <c>Bff:Spa:RootPath</c> is reported by validation rather than by an exception during composition.
/// </summary>
internal sealed class SpaStaticFiles
{
    private readonly RequestDelegate next;

    public SpaStaticFiles(RequestDelegate next, SpaFiles files, IWebHostEnvironment environment, ILoggerFactory loggerFactory)
    {
        this.next = files.Provider is null
            ? next
            : new StaticFileMiddleware(
                next,
                environment,
                Options.Create(new StaticFileOptions
                {
                    FileProvider = files.Provider,
                    OnPrepareResponse = context => SpaFiles.ApplyHeaders(context.Context.Request.Path, context.Context.Response),
                }),
                loggerFactory).Invoke;
    }

    public Task InvokeAsync(HttpContext context) => next(context);
}
