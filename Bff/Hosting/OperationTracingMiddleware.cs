using Bff.Observability;
using System.Diagnostics;
using Bff.Configuration;
using Bff.Endpoints;
using Microsoft.Extensions.Options;
using static Bff.Observability.TelemetryNames;

namespace Bff.Hosting;

/// <summary>
/// Opens the gateway's span around the requests that are gateway operations: login, the sign-in callback, logout,
/// the signed-out callback and back-channel logout. A middleware rather than code in the handlers because the
/// interesting work (pushing the authorization request, redeeming the code) happens inside the OpenID Connect handler
/// and the challenge result; opened here, those provider calls nest under the operation's span.
/// Handlers say how the operation ended with <see cref="BffActivitySource.SetBffOutcome"/>; when none did, the
/// response status decides.
/// </summary>
internal sealed class OperationTracingMiddleware
{
    /// <summary>The back-channel logout endpoint's path in the gateway's HTTP contract.</summary>
    public const string BackchannelLogoutPath = "/bff/backchannel";

    private readonly RequestDelegate _next;
    private readonly (PathString Path, string Span)[] _operations;

    public OperationTracingMiddleware(RequestDelegate next, IOptions<BffOptions> options)
    {
        _next = next;
        var bff = options.Value;
        _operations =
        [
            (new PathString(LoginEndpoint.Path), Spans.Login),
            (new PathString(bff.CallbackPath), Spans.Callback),
            (new PathString(LogoutEndpoint.Path), Spans.Logout),
            (new PathString(bff.SignedOutCallbackPath), Spans.SignedOutCallback),
            (new PathString(BackchannelLogoutPath), Spans.BackchannelLogout),
        ];
    }

    public Task InvokeAsync(HttpContext context)
    {
        // Not async itself: every other request (every API call) passes straight through, without a state machine.
        var span = SpanFor(context.Request.Path);
        if (span is null || BffActivitySource.StartOperation(span) is not { } activity)
        {
            return _next(context);
        }

        return TraceAsync(context, activity);
    }

    private async Task TraceAsync(HttpContext context, Activity activity)
    {
        using (activity)
        {
            GatewayOperation.Set(context, activity);
            try
            {
                await _next(context);
            }
            catch (Exception ex)
            {
                activity.SetFailure(Outcomes.Failure, ex.GetType().FullName ?? "exception");
                throw;
            }

            if (activity.GetTagItem(Attributes.Outcome) is null)
            {
                var status = context.Response.StatusCode;
                if (status >= 400)
                {
                    activity.SetFailure(Outcomes.Failure, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    activity.SetOutcome(Outcomes.Success);
                }
            }
        }
    }

    private string? SpanFor(PathString path)
    {
        foreach (var (operationPath, span) in _operations)
        {
            if (path.Equals(operationPath, StringComparison.OrdinalIgnoreCase))
            {
                return span;
            }
        }

        return null;
    }
}
