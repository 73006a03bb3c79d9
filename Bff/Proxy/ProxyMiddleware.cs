using Bff.Authentication;
using Bff.Csrf;
using Bff.DPoP;
using Bff.Errors;
using Bff.Observability;
using Bff.Sessions;
using Bff.Tokens;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Bff.Proxy;

/// <summary>
/// The gateway's step in YARP's proxy pipeline, for every proxied request: path and anti-forgery checks, then the
/// token the route asks for, then forwarding, then Problem Details for an upstream that could not be reached. Nothing is
/// forwarded unless the first two pass. A singleton: no per-request scope, no per-request parsing of route settings.
/// </summary>
internal sealed class ProxyMiddleware(
    RequestDelegate next,
    SessionResolver sessionResolver,
    SessionCookie sessionCookie,
    UserTokenProvider userTokens,
    ClientTokenCache clientTokens,
    ForgeryCheck forgeryCheck,
    DPoPKeys dpopKeys,
    BffMetrics metrics,
    StepUpAnswer stepUpAnswer,
    TimeProvider timeProvider,
    ILogger<ProxyMiddleware> logger)
{

    public async Task InvokeAsync(HttpContext context)
    {
        // Neither the exception handler nor status-code pages run on proxied routes (UseBffEndpointResponses): upstream
        // answers (an empty 401, a 500) reach the SPA as the API sent them, and an exception on an API call becomes
        // Problem Details here, unless the API's answer has already begun or the client has left.
        try
        {
            var policy = context.GetEndpoint()?.Metadata.GetMetadata<RoutePolicy>() ?? RoutePolicy.Strict;
            var request = context.Request;

            if (ProxyPath.IsAmbiguous(request.Path.Value) || ProxyPath.HasInvalidEscapes(context.Features.Get<IHttpRequestFeature>()?.RawTarget))
            {
                BffLog.AmbiguousPathRejected(logger, policy.RouteId);
                metrics.ProxyError(BffError.AmbiguousPath.Code, policy.RouteId);
                await BffProblem.WriteAsync(context, BffError.AmbiguousPath);
                return;
            }

            if (policy.RequireCsrf && RefuseForgery(context, policy) is { } forgery)
            {
                metrics.CsrfRejected(policy.RouteId);
                await BffProblem.WriteAsync(context, forgery);
                return;
            }

            var token = policy.Token == RouteToken.None ? TokenResult.None : await ResolveTokenAsync(context, policy);
            if (token.Error is { } error)
            {
                if (ReferenceEquals(error, BffError.StepUpRequired))
                {
                    await stepUpAnswer.RefuseAsync(context, policy.StepUp!, policy.RouteId, TelemetryNames.StepUpSources.Endpoint);
                    return;
                }

                if (ReferenceEquals(error, BffError.SessionExpired))
                {
                    sessionCookie.Delete(context.Response);
                }

                await BffProblem.WriteAsync(context, error, retryAfter: token.RetryAfter);
                return;
            }

            if (await DPoPRefusalAsync(context, policy, token) is { } refusal)
            {
                metrics.ProxyError(refusal.Code, policy.RouteId);
                await BffProblem.WriteAsync(context, refusal);
                return;
            }

            // YARP copies the request's headers to the upstream request: the client's own Authorization is replaced
            // or removed here. (The Cookie header is removed from the upstream request by RouteTransformProvider.)
            request.Headers.Authorization = token.Authorization is { } authorization ? new StringValues(authorization) : StringValues.Empty;

            // Removed before YARP copies the request, so a route's own transforms can still set them deliberately.
            RiskyRequestHeaders.Strip(request.Headers, policy.StrippedRequestHeaders);

            await next(context);

            if (context.Features.Get<IForwarderErrorFeature>() is { } failure)
            {
                await ReportUpstreamFailureAsync(context, policy, failure);
            }
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            context.Response.Clear();
            await UnhandledFailure.WriteAsync(context, ex, context.Request.Path);
        }
    }

    /// <summary>
    /// A DPoP-bound token needs its key on this replica (kept by thumbprint until the token is renewed), and a route with
    /// <c>Bff.DPoP</c> <c>Require</c> never sends a bearer token.
    /// </summary>
    private async ValueTask<BffError?> DPoPRefusalAsync(HttpContext context, RoutePolicy policy, TokenResult token)
    {
        if (token.DPoPThumbprint is { } thumbprint)
        {
            if (await dpopKeys.FindAsync(thumbprint, context.RequestAborted) is not { } key)
            {
                DPoPLog.BoundKeyUnknown(logger, policy.RouteId, thumbprint);
                return BffError.DPoPUnavailable;
            }

            // A feature, not HttpContext.Items: reading Items would allocate its dictionary on every proxied call.
            context.Features.Set(new DPoPBoundCall(key, policy.RouteId, await KeepSmallBodyAsync(context.Request)));
            return null;
        }

        if (policy.DPoPMode == RouteDPoP.Require && token.Authorization is not null)
        {
            DPoPLog.BearerRefused(logger, policy.RouteId);
            return BffError.DPoPUnavailable;
        }

        return null;
    }

    /// <summary>
    /// A body of known, small length is read once and handed to YARP from memory, so the same bytes can go again if
    /// the API asks for a DPoP nonce. Larger or chunked bodies stream as always, and are not sent twice.
    /// </summary>
    private static async ValueTask<byte[]?> KeepSmallBodyAsync(HttpRequest request)
    {
        if (request.ContentLength is not { } length || length is <= 0 or > DPoPBoundCall.MaxReplayableBody)
        {
            return null;
        }

        var body = new byte[length];
        await request.Body.ReadExactlyAsync(body, request.HttpContext.RequestAborted);
        request.Body = new MemoryStream(body, writable: false);
        return body;
    }

    /// <summary>
    /// Cookie-authenticated calls need proof that the SPA made them (<see cref="ForgeryCheck"/>, which local APIs use too).
    /// </summary>
    private BffError? RefuseForgery(HttpContext context, RoutePolicy policy) =>
        forgeryCheck.Refuse(context.Request, policy.RouteId);

    private ValueTask<TokenResult> ResolveTokenAsync(HttpContext context, RoutePolicy policy)
    {
        if (policy.Token == RouteToken.Client)
        {
            return clientTokens.GetAsync(policy.Target, context.RequestAborted);
        }

        var lookup = sessionResolver.ResolveForProxyAsync(context);
        return lookup.IsCompletedSuccessfully
            ? ForSession(context, policy, lookup.Result)
            : AwaitSessionAsync(context, policy, lookup);
    }

    private async ValueTask<TokenResult> AwaitSessionAsync(HttpContext context, RoutePolicy policy, ValueTask<SessionLookup> lookup) =>
        await ForSession(context, policy, await lookup);

    private ValueTask<TokenResult> ForSession(HttpContext context, RoutePolicy policy, SessionLookup lookup)
    {
        switch (lookup.Status)
        {
            case SessionLookupStatus.Found:
                // Checked before any token is fetched or refreshed: a refused call costs the provider nothing.
                return policy.StepUp is { } stepUp && !stepUp.IsSatisfiedBy(lookup.Session!, timeProvider.GetUtcNow())
                    ? ValueTask.FromResult(TokenResult.Fail(BffError.StepUpRequired))
                    : userTokens.GetAsync(context, lookup.Session!, policy.Target);
            case SessionLookupStatus.Unavailable:
                return ValueTask.FromResult(TokenResult.Fail(BffError.SessionStoreUnavailable));
            default:
                return policy.Token switch
                {
                    RouteToken.UserOrClient => clientTokens.GetAsync(policy.Target, context.RequestAborted),
                    RouteToken.UserOrNone => ValueTask.FromResult(TokenResult.None),
                    _ => ValueTask.FromResult(TokenResult.Fail(BffError.Unauthenticated)),
                };
        }
    }

    private async Task ReportUpstreamFailureAsync(HttpContext context, RoutePolicy policy, IForwarderErrorFeature failure)
    {
        var error = failure.Error switch
        {
            ForwarderError.Request or ForwarderError.RequestCreation or ForwarderError.NoAvailableDestinations
                or ForwarderError.RequestBodyDestination or ForwarderError.UpgradeRequestDestination => BffError.UpstreamUnreachable,
            ForwarderError.RequestTimedOut => BffError.UpstreamTimeout,
            _ => null,
        };

        var response = context.Response;
        if (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; YARP has cancelled the upstream call. Nothing to report to anyone.
            return;
        }

        BffLog.UpstreamFailed(logger, policy.RouteId, failure.Error.ToString(), failure.Exception?.GetType().Name ?? "-", response.StatusCode);
        metrics.ProxyError(error?.Code ?? failure.Error.ToString(), policy.RouteId);
        if (error is null || response.HasStarted)
        {
            // Not a gateway-level failure (e.g. the client's body was refused: 413), or the response was already
            // under way (YARP aborts it rather than truncate it).
            return;
        }

        response.Clear();
        await BffProblem.WriteAsync(context, error);
    }
}
