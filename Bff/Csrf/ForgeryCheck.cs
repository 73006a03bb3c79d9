using Bff.Errors;
using Bff.Observability;

namespace Bff.Csrf;

/// <summary>
/// The anti-forgery decision for a cookie-authenticated call, the same for a proxied route and a local API: the
/// <c>X-CSRF</c> header (<see cref="CsrfHeader"/>), or for a WebSocket upgrade, which a browser cannot add headers to,
/// an Origin that is the gateway's own.
/// <para>
/// Any page on the web can make a browser send requests without the header, and any client can send them as fast as
/// it likes: every refusal is counted (<c>bff.csrf.rejections</c>, by the caller), but the log gets the first refusal
/// of each minute, with the number since the previous line, rather than a line per request.
/// </para>
/// </summary>
internal sealed class ForgeryCheck(TimeProvider time, ILogger<ForgeryCheck> logger)
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly LogThrottle _missingHeader = new(time, LogInterval);
    private readonly LogThrottle _foreignOrigin = new(time, LogInterval);

    /// <summary>Null when the request shows that the SPA made it; otherwise the error to answer with (already logged).</summary>
    public BffError? Refuse(HttpRequest request, string routeId)
    {
        if (IsUpgrade(request))
        {
            if (OriginIsGateway(request))
            {
                return null;
            }

            if (_foreignOrigin.Count(out var upgrades))
            {
                BffLog.UpgradeOriginRejected(logger, routeId, upgrades);
            }

            return BffError.OriginMismatch;
        }

        if (CsrfHeader.IsPresent(request))
        {
            return null;
        }

        if (_missingHeader.Count(out var refusals))
        {
            BffLog.CsrfHeaderMissing(logger, request.Method, routeId, refusals);
        }

        return BffError.CsrfHeaderMissing;
    }

    private static bool IsUpgrade(HttpRequest request) =>
        request.Headers.Upgrade.Count > 0 || HttpMethods.IsConnect(request.Method);

    /// <summary>The Origin is exactly <c>scheme://host[:port]</c> of this request (as the browser addressed the gateway).</summary>
    private static bool OriginIsGateway(HttpRequest request)
    {
        var origins = request.Headers.Origin;
        if (origins.Count != 1 || origins[0] is not { } origin)
        {
            return false;
        }

        var scheme = request.Scheme;
        var host = request.Host.Value;
        return !string.IsNullOrEmpty(host)
            && origin.Length == scheme.Length + 3 + host.Length
            && origin.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            && string.CompareOrdinal(origin, scheme.Length, "://", 0, 3) == 0
            && origin.AsSpan(scheme.Length + 3).Equals(host, StringComparison.OrdinalIgnoreCase);
    }
}
