using System.Globalization;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;

namespace Bff.Authentication;

/// <summary>
/// The answer to a call whose session's sign-in is not strong or recent enough (a route's <c>Bff.Acr</c> /
/// <c>Bff.MaxAge</c>, a local endpoint's <c>RequireStepUp</c>, an API's RFC 9470 challenge): <c>401</c> Problem Details
/// <c>step_up_required</c> whose <c>loginUrl</c> the SPA navigates to. The call is never forwarded. The login URL
/// carries <c>acr_values</c> / <c>max_age</c> and a <c>returnUrl</c>: the SPA's <c>X-Bff-Return-Url</c> header when it
/// sends one, else the path of a same-origin <c>Referer</c>, else <c>/</c>, each checked like any return URL.
/// </summary>
internal sealed class StepUpAnswer(BffMetrics metrics, ILogger<StepUpAnswer> logger)
{
    /// <summary>The header an SPA sets on API calls to say where a step-up sign-in should bring the user back.</summary>
    public const string ReturnUrlHeader = "X-Bff-Return-Url";

    public const string LoginUrlMember = "loginUrl";

    /// <summary>Answers 401 <c>step_up_required</c>; <paramref name="source"/> is a <see cref="TelemetryNames.StepUpSources"/> value.</summary>
    public Task RefuseAsync(HttpContext context, StepUpRequirement requirement, string endpoint, string source)
    {
        BffLog.StepUpRequired(logger, context.Request.Method, endpoint, requirement.Describe(), source);
        metrics.StepUpRequired(endpoint, source);
        return BffProblem.WriteAsync(
            context,
            BffError.StepUpRequired,
            [new(LoginUrlMember, LoginUrl(context.Request, requirement))]);
    }

    /// <summary>
    /// <c>/bff/login?returnUrl=…&amp;acr_values=…&amp;max_age=…</c>: every value percent-encoded, acr values already
    /// checked to be plain tokens (<see cref="StepUpRequirement.IsAcrValue"/>).
    /// </summary>
    public static string LoginUrl(HttpRequest request, StepUpRequirement requirement)
    {
        var url = SignInPaths.Login + "?returnUrl=" + Uri.EscapeDataString(ReturnTarget(request));
        if (requirement.AcrValuesParameter is { } acr)
        {
            url += "&acr_values=" + Uri.EscapeDataString(acr);
        }

        if (requirement.MaxAge is { } maxAge)
        {
            url += "&max_age=" + maxAge.ToString(CultureInfo.InvariantCulture);
        }

        return url;
    }

    /// <summary>Where the SPA continues after the step-up sign-in: a local path, never another origin.</summary>
    internal static string ReturnTarget(HttpRequest request)
    {
        var header = request.Headers[ReturnUrlHeader];
        if (header.Count == 1 && ReturnUrl.TryNormalize(header[0], out var fromHeader))
        {
            return fromHeader;
        }

        // The page the call came from: only a Referer of this very origin (the public-origin check has vetted Host).
        var referer = request.Headers.Referer;
        if (header.Count == 0 && referer.Count == 1
            && Uri.TryCreate(referer[0], UriKind.Absolute, out var page)
            && string.Equals(page.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(page.Host, request.Host.Host, StringComparison.OrdinalIgnoreCase)
            && string.IsNullOrEmpty(page.UserInfo)
            && ReturnUrl.TryNormalize(page.PathAndQuery, out var fromReferer))
        {
            return fromReferer;
        }

        return ReturnUrl.Default;
    }
}
