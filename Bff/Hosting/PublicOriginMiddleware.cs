using Bff.Configuration;
using Bff.Errors;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Hosting;

/// <summary>
/// Serves only the configured <c>Bff:PublicOrigin</c>. Runs right after the forwarded headers are applied: a request
/// whose Host (the trusted proxy's <c>X-Forwarded-Host</c>, if any) names another host is answered
/// <c>400 invalid_host</c> before anything can build a URL from it; any other request continues with the configured
/// scheme and host in place of what it carried, so redirect URIs, the post-logout URI, cookie flags, HSTS and the
/// <c>X-Forwarded-Host</c>/<c>-Proto</c> sent to APIs all come from configuration.
/// <para>
/// The health endpoints are exempt and left untouched: Kubernetes probes address the pod (<c>Host: 10.1.2.3:8080</c>).
/// Without a configured origin (allowed in Development only) requests pass unchanged.
/// </para>
/// </summary>
internal sealed class PublicOriginMiddleware(RequestDelegate next, IOptions<BffOptions> options, TimeProvider time, ILogger<PublicOriginMiddleware> logger)
{
    /// <summary>Enough of a foreign Host to recognise it in the log, not a place to store a request's worth of text.</summary>
    private const int LoggedHostLength = 100;

    /// <summary>Anyone can send any Host: one line a minute says how many were refused, never one line per request.</summary>
    private readonly LogThrottle _refusals = new(time, TimeSpan.FromMinutes(1));

    // Read at the first request, after start-up validation (see UseBffResponseHeaders).
    private readonly Lazy<PublicOrigin?> _origin = new(() =>
        PublicOrigin.TryParse(options.Value.PublicOrigin, out var origin, out _) ? origin : null);

    public Task InvokeAsync(HttpContext context)
    {
        var origin = _origin.Value;
        var request = context.Request;
        if (origin is null || IsHealthProbe(request.Path))
        {
            return next(context);
        }

        if (!origin.Matches(request.Host))
        {
            if (_refusals.Count(out var refused))
            {
                var host = request.Host.Value ?? string.Empty;
                BffLog.HostRejected(logger, refused, host.Length > LoggedHostLength ? host[..LoggedHostLength] : host);
            }

            context.Response.Headers.XContentTypeOptions = "nosniff";
            return BffProblem.WriteAsync(context, BffError.InvalidHost);
        }

        request.Scheme = origin.Scheme;
        if (!string.Equals(request.Host.Value, origin.Host.Value, StringComparison.Ordinal))
        {
            request.Host = origin.Host;
        }

        return next(context);
    }

    private static bool IsHealthProbe(PathString path) =>
        path.Equals(BffHealth.LivePath, StringComparison.OrdinalIgnoreCase) || path.Equals(BffHealth.ReadyPath, StringComparison.OrdinalIgnoreCase);
}
