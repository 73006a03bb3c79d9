using Bff.Authentication;
using Bff.Csrf;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;

namespace Bff.LocalApis;

/// <summary>
/// What a proxied <c>Bff.Token=User</c> route checks before it forwards, for an endpoint of the host's own
/// (<c>RequireBffSession</c>): the anti-forgery rule first (<see cref="ForgeryCheck"/>), then the session through the
/// same <see cref="SessionResolver"/>, which slides it and remembers it for the rest of the request (the token service
/// does not read the store again), then the endpoint's step-up requirements (<c>RequireStepUp</c>): a session whose
/// sign-in is not strong or recent enough is answered 401 <c>step_up_required</c> with a login URL. The session's
/// claims become <c>HttpContext.User</c>.
/// <para>
/// It wraps the endpoint's own request delegate rather than running as a middleware: no middleware order (an explicit
/// <c>UseRouting</c> after <c>UseBff</c>, say) can leave a local API unchecked, it runs before model binding reads a
/// body, and proxied calls pay nothing for it.
/// </para>
/// </summary>
internal sealed class LocalApiGuard(
    SessionResolver sessions,
    ForgeryCheck forgeryCheck,
    BffMetrics metrics,
    StepUpAnswer stepUpAnswer,
    TimeProvider timeProvider)
{
    public Task InvokeAsync(HttpContext context, RequestDelegate endpoint)
    {
        if (forgeryCheck.Refuse(context.Request, EndpointName(context)) is { } forgery)
        {
            metrics.CsrfRejected(EndpointName(context));
            return BffProblem.WriteAsync(context, forgery);
        }

        var lookup = sessions.ResolveAsync(context);
        return lookup.IsCompletedSuccessfully
            ? ContinueAsync(context, lookup.Result, endpoint)
            : AwaitSessionAsync(context, lookup, endpoint);
    }

    private async Task AwaitSessionAsync(HttpContext context, ValueTask<SessionLookup> lookup, RequestDelegate endpoint) =>
        await ContinueAsync(context, await lookup, endpoint);

    private Task ContinueAsync(HttpContext context, SessionLookup lookup, RequestDelegate endpoint)
    {
        switch (lookup.Status)
        {
            case SessionLookupStatus.Found:
                if (context.GetEndpoint()?.Metadata.GetOrderedMetadata<StepUpRequirement>() is { Count: > 0 } requirements
                    && StepUpRequirement.FirstUnmet(requirements, lookup.Session!, timeProvider.GetUtcNow()) is { } unmet)
                {
                    return stepUpAnswer.RefuseAsync(context, unmet, EndpointName(context), TelemetryNames.StepUpSources.Endpoint);
                }

                context.User = lookup.Session!.Principal;
                return endpoint(context);
            case SessionLookupStatus.Unavailable:
                return BffProblem.WriteAsync(context, BffError.SessionStoreUnavailable);
            default:
                return BffProblem.WriteAsync(context, BffError.Unauthenticated);
        }
    }

    /// <summary>For log lines and the CSRF metric: the endpoint's route template, one of a set the host defines.</summary>
    private static string EndpointName(HttpContext context) =>
        context.GetEndpoint() switch
        {
            RouteEndpoint { RoutePattern.RawText: { } pattern } => pattern,
            { DisplayName: { } name } => name,
            _ => "local",
        };
}
