using System.Net;
using Bff.DPoP;
using Yarp.ReverseProxy.Forwarder;

namespace Bff.Proxy;

/// <summary>
/// The DPoP key a proxied call's token is bound to, its route, and its body when it is small enough to keep for a
/// second send (<see cref="MaxReplayableBody"/>), handed from the middleware to <see cref="DPoPUpstreamHandler"/>.
/// </summary>
internal sealed record DPoPBoundCall(DPoPKey Key, string RouteId, byte[]? Body = null)
{
    /// <summary>A request body up to this size is kept in memory, so that an API's nonce challenge can be answered.</summary>
    public const int MaxReplayableBody = 16 * 1024;

    public static readonly HttpRequestOptionsKey<DPoPBoundCall> Option = new("Bff.DPoP.BoundCall");
}

/// <summary>
/// In YARP's HttpClient, closest to the network: a call with a DPoP-bound token gets a proof for exactly the request
/// YARP sends (its method, and its destination URL after every transform as <c>htu</c>), with <c>ath</c> and the API's
/// latest nonce. An API that answers <c>401</c> with <c>WWW-Authenticate: DPoP error="use_dpop_nonce"</c> and a new
/// <c>DPoP-Nonce</c> gets the request once more, when it has no body or a small one the middleware kept; otherwise its
/// 401 is passed on (the nonce is kept, so the browser's retry succeeds).
/// </summary>
internal sealed class DPoPUpstreamHandler(DPoPNonces nonces, TimeProvider timeProvider, ILogger logger) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(DPoPBoundCall.Option, out var call) || request.RequestUri is not { } target
            || request.Headers.Authorization is not { Scheme: "DPoP", Parameter: { } accessToken })
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var nonce = nonces.Get(target);
        DPoPProof.Attach(request, call.Key, target, timeProvider.GetUtcNow(), accessToken, nonce);
        var response = await base.SendAsync(request, cancellationToken);
        if (!nonces.Remember(target, response, nonce) || response.StatusCode != HttpStatusCode.Unauthorized || !DPoPProof.IsNonceChallenge(response))
        {
            return response;
        }

        var hasBody = request.Content is not null && request.Content.Headers.ContentLength is not 0;
        if (hasBody && call.Body is null)
        {
            DPoPLog.UpstreamNonceNotRetried(logger, call.RouteId);
            return response;
        }

        DPoPLog.UpstreamNonceRetry(logger, call.RouteId);
        var retry = new HttpRequestMessage(request.Method, target) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers)
        {
            retry.Headers.TryAddWithoutValidation(name, values);
        }

        if (hasBody)
        {
            retry.Content = new ByteArrayContent(call.Body!);
            foreach (var (name, values) in request.Content!.Headers)
            {
                retry.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        DPoPProof.Attach(retry, call.Key, target, timeProvider.GetUtcNow(), accessToken, nonces.Get(target));
        response.Dispose();
        var second = await base.SendAsync(retry, cancellationToken);
        nonces.Remember(target, second, sent: null);
        return second;
    }
}

/// <summary>YARP's HttpClient factory, with <see cref="DPoPUpstreamHandler"/> in front of the sockets handler.</summary>
internal sealed class DPoPForwarderHttpClientFactory(
    DPoPNonces nonces,
    TimeProvider timeProvider,
    ILogger<ForwarderHttpClientFactory> factoryLogger,
    ILogger<DPoPUpstreamHandler> logger) : ForwarderHttpClientFactory(factoryLogger)
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new DPoPUpstreamHandler(nonces, timeProvider, logger) { InnerHandler = base.WrapHandler(context, handler) };
}
