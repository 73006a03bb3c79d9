using System.Net;

namespace Bff.DPoP;

/// <summary>
/// Presents a DPoP-bound access token to the provider (its userinfo endpoint, RFC 9449 §7): a request that carries
/// <c>Authorization: DPoP …</c> and names the token's key in <see cref="BoundKey"/> gets a proof of exactly this
/// request (its method, its URL without query and fragment as <c>htu</c>, <c>ath</c> of the token, a new <c>jti</c>,
/// the provider's latest nonce). On the provider's HttpClients, inside their resilience pipelines, so that a retried
/// attempt carries a fresh proof rather than a replayed one.
/// <para>
/// A <c>401</c> with <c>WWW-Authenticate: DPoP error="use_dpop_nonce"</c> and a new <c>DPoP-Nonce</c> gets the
/// request once more with it, when it has no body (userinfo's GET can be repeated); otherwise, or when the second answer
/// is the same, it is passed on. The nonce is remembered per server either way.
/// </para>
/// </summary>
internal sealed class DPoPBoundTokenHandler(DPoPNonces nonces, TimeProvider timeProvider, ILogger<DPoPBoundTokenHandler> logger) : DelegatingHandler
{
    /// <summary>The key the request's access token is bound to; without it a request passes unchanged.</summary>
    public static readonly HttpRequestOptionsKey<DPoPKey> BoundKey = new("Bff.DPoP.BoundKey");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(BoundKey, out var key) || request.RequestUri is not { } target
            || request.Headers.Authorization is not { Scheme: DPoPProof.HeaderName, Parameter: { } accessToken })
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var nonce = nonces.Get(target);
        DPoPProof.Attach(request, key, target, timeProvider.GetUtcNow(), accessToken, nonce);
        var response = await base.SendAsync(request, cancellationToken);
        if (!nonces.Remember(target, response, nonce) || response.StatusCode != HttpStatusCode.Unauthorized || !DPoPProof.IsNonceChallenge(response))
        {
            return response;
        }

        var endpoint = target.GetLeftPart(UriPartial.Path);
        if (request.Content is not null)
        {
            DPoPLog.ProviderNonceNotRetried(logger, endpoint);
            return response;
        }

        DPoPLog.ProviderNonceRetry(logger, endpoint);
        var retry = new HttpRequestMessage(request.Method, target) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers)
        {
            retry.Headers.TryAddWithoutValidation(name, values);
        }

        foreach (var (name, value) in request.Options)
        {
            ((IDictionary<string, object?>)retry.Options)[name] = value;
        }

        DPoPProof.Attach(retry, key, target, timeProvider.GetUtcNow(), accessToken, nonces.Get(target));
        response.Dispose();
        var second = await base.SendAsync(retry, cancellationToken);
        nonces.Remember(target, second, sent: null);
        return second;
    }
}
