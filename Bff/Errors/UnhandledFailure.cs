using Bff.Observability;

namespace Bff.Errors;

/// <summary>
/// The answer to an exception nothing else handled: a generic 500 Problem Details response without a stack trace, in
/// every environment, or a 503 with <c>Retry-After</c> when Redis, reached through a library (the Data Protection key
/// ring), is what failed. Used by the exception handler on the gateway's own endpoints and by the proxy middleware on
/// API routes.
/// </summary>
internal static class UnhandledFailure
{
    public static Task WriteAsync(HttpContext context, Exception? error, string path)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Bff.Errors");
        if (error is not null && CausedByOutage(context.RequestServices, error))
        {
            BffLog.SessionStoreFailed(logger, "serve " + path, error!.GetType().Name);
            return BffProblem.WriteAsync(context, BffError.SessionStoreUnavailable);
        }

        if (error is not null)
        {
            BffLog.UnhandledException(logger, error, context.Request.Method, path);
        }

        return BffProblem.WriteAsync(context, BffError.InternalError);
    }

    private static bool CausedByOutage(IServiceProvider services, Exception error)
    {
        foreach (var outage in services.GetServices<IDependencyOutage>())
        {
            if (outage.CausedBy(error))
            {
                return true;
            }
        }

        return false;
    }
}
