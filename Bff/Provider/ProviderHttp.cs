using System.Net;
using Bff.Configuration;
using Bff.DPoP;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Bff.Provider;

/// <summary>
/// The named HttpClients for calls to the provider, each with its resilience pipeline (Polly, timed by the
/// registered <see cref="TimeProvider"/>). Which client a call uses decides whether it may be retried: a request that
/// may spend a refresh token or an authorization code is never sent twice, because the provider may have acted on
/// the first one (rotated the refresh token, redeemed the code) and a second one looks like replay to it.
/// </summary>
internal static class ProviderHttp
{
    /// <summary>Never retried: the refresh-token grant.</summary>
    public const string ClientName = "Bff.Provider";

    /// <summary>Retried on a transient failure: the client-credentials grant and revocation, which may be repeated safely.</summary>
    public const string RetryingClientName = "Bff.Provider.Retrying";

    /// <summary>
    /// The OpenID Connect handler's back-channel: discovery and signing keys (GET, retried on a transient failure),
    /// the code redemption and pushed authorization requests (POST, never retried).
    /// </summary>
    public const string BackchannelName = "Bff.Provider.Backchannel";

    /// <summary>The longest one call may take, retries included.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>At most this many retries after the first attempt, within <see cref="Timeout"/>.</summary>
    public const int MaxRetries = 2;

    /// <summary>The median first retry delay; later ones grow exponentially, each jittered.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// With the mutual-TLS methods, how long one connection to the provider is reused: after a certificate is renewed,
    /// connections that still present the previous one are gone within this (new ones present the new one at once).
    /// </summary>
    public static readonly TimeSpan CertificateConnectionLifetime = TimeSpan.FromMinutes(5);

    /// <summary>What the OpenID Connect handler allows for its own back-channel responses.</summary>
    private const long MaxResponseBuffer = 10 * 1024 * 1024;

    public static IServiceCollection AddProviderHttpClients(this IServiceCollection services)
    {
        services.AddTransient<ClientAuthenticationHandler>();
        // HttpClient.Timeout counts real time; the pipelines' timeout counts the TimeProvider's, like the rest of the gateway.
        // Inside the resilience pipelines, so that every attempt carries a fresh DPoP proof (of the token request, or of
        // the bound access token userinfo is read with) and a fresh client assertion. The DPoP handlers are outside
        // client authentication: a retry they make for a DPoP nonce passes through client authentication again, which
        // never resends a spent assertion (DPoPTokenRequestHandler, ClientAuthenticationHandler).
        services.AddBffDPoP();
        var once = services.AddHttpClient(ClientName, client => client.Timeout = System.Threading.Timeout.InfiniteTimeSpan);
        once.AddResilienceHandler(ClientName, pipeline => pipeline.AddTimeout(Timeout));
        once.AddHttpMessageHandler<DPoPTokenRequestHandler>();
        once.AddHttpMessageHandler<DPoPBoundTokenHandler>();
        once.WithClientAuthentication();
        var retrying = services.AddHttpClient(RetryingClientName, client => client.Timeout = System.Threading.Timeout.InfiniteTimeSpan);
        retrying.AddResilienceHandler(RetryingClientName, pipeline => pipeline.AddTimeout(Timeout).AddRetry(TransientRetry()));
        retrying.AddHttpMessageHandler<DPoPTokenRequestHandler>();
        retrying.AddHttpMessageHandler<DPoPBoundTokenHandler>();
        retrying.WithClientAuthentication();
        var backchannel = services.AddHttpClient(BackchannelName, client =>
            {
                client.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
                client.MaxResponseContentBufferSize = MaxResponseBuffer;
            });
        backchannel.AddResilienceHandler(BackchannelName, pipeline => pipeline.AddTimeout(Timeout).AddRetry(SafeMethodsRetry()));
        backchannel.AddHttpMessageHandler<DPoPTokenRequestHandler>();
        backchannel.AddHttpMessageHandler<DPoPBoundTokenHandler>();
        backchannel.WithClientAuthentication();
        return services;
    }

    /// <summary>
    /// The client's credentials on every call (<see cref="ClientAuthenticationHandler"/>, inside the resilience pipeline
    /// so that each attempt is authenticated afresh) and, with the mutual-TLS methods, its certificate on every connection.
    /// </summary>
    private static IHttpClientBuilder WithClientAuthentication(this IHttpClientBuilder builder) =>
        builder.AddHttpMessageHandler<ClientAuthenticationHandler>()
            .UseSocketsHttpHandler((handler, services) =>
            {
                if (services.GetRequiredService<IOptions<BffOptions>>().Value.ClientAuthentication.UsesCertificate)
                {
                    var credentials = services.GetRequiredService<ClientCredentials>();
                    // Asked at every TLS handshake rather than fixed when the handler is built (the OpenID Connect
                    // handler's back-channel keeps one handler for the life of the process): a new connection presents
                    // the certificate in use at that moment, so a renewed certificate file is on the next connection.
                    handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => credentials.Certificate!;
                    // Connections made with the previous certificate finish their requests and close within this.
                    handler.PooledConnectionLifetime = CertificateConnectionLifetime;
                }
            });

    /// <summary>
    /// Retries what surely or probably never reached the provider's logic (no connection, 408, 5xx), at jittered,
    /// exponentially growing delays. Not a 429 nor an answer with <c>Retry-After</c>: the provider asked us to wait,
    /// and the token endpoint client honours that for every caller rather than here.
    /// </summary>
    private static HttpRetryStrategyOptions TransientRetry() => new()
    {
        MaxRetryAttempts = MaxRetries,
        Delay = RetryDelay,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = true,
        ShouldRetryAfterHeader = false,
        ShouldHandle = args => ValueTask.FromResult(
            HttpClientResiliencePredicates.IsTransient(args.Outcome)
            && args.Outcome.Result is not { StatusCode: HttpStatusCode.TooManyRequests }
            && args.Outcome.Result?.Headers.RetryAfter is null),
    };

    /// <summary>As <see cref="TransientRetry"/>, for GET and other safe methods only: a POST on this client may carry an authorization code.</summary>
    private static HttpRetryStrategyOptions SafeMethodsRetry()
    {
        var retry = TransientRetry();
        retry.DisableForUnsafeHttpMethods();
        return retry;
    }
}
