using System.Text.Json;
using Bff.Configuration;
using Bff.Observability;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Bff.Provider;

internal enum TokenCallStatus
{
    Succeeded,

    /// <summary>
    /// The refresh token is dead: <c>invalid_grant</c>, or a 400/401 with no (or no known) OAuth error, which some
    /// providers answer for a revoked or unknown refresh token. RFC 6749 section 5.2 makes it final: retrying cannot help.
    /// </summary>
    GrantRejected,

    /// <summary>
    /// <c>invalid_client</c> / <c>unauthorized_client</c>: the gateway's own registration is refused, so every session
    /// is affected. Token calls back off for the whole gateway (<see cref="TokenEndpointClient.ClientRejection"/>).
    /// </summary>
    ClientRejected,

    /// <summary>
    /// The provider refused this request for what it asks (<c>invalid_scope</c>, <c>invalid_target</c>,
    /// <c>invalid_request</c>, …), not for the refresh token or the client: final for this target, so the caller waits
    /// <see cref="TokenEndpointClient.RefusalCooldown"/> before asking again; the session is kept.
    /// </summary>
    Refused,

    /// <summary>Unreachable, timed out, 429 or 5xx: the same request may work later (after <c>Retry-After</c>).</summary>
    Unavailable,
}

/// <summary>Tokens from a successful token-endpoint call.</summary>
internal sealed record IssuedTokens(string AccessToken, TimeSpan Lifetime, string? RefreshToken, string? IdToken, string? Scope = null, string? DPoPKeyThumbprint = null)
{
    /// <summary>The <c>Authorization</c> value for the access token: <c>DPoP …</c> when it is bound to a key, else <c>Bearer …</c>.</summary>
    public string AuthorizationHeader => (DPoPKeyThumbprint is null ? "Bearer " : "DPoP ") + AccessToken;
}

internal readonly record struct TokenCallResult(TokenCallStatus Status, IssuedTokens? Tokens, TimeSpan RetryAfter = default)
{
    public static TokenCallResult Unavailable(TimeSpan retryAfter) => new(TokenCallStatus.Unavailable, null, retryAfter);
}

/// <summary>
/// Calls the provider's token endpoint (from discovery) for refresh-token and client-credentials grants, and is the one
/// place that classifies its answers (<see cref="Classify"/>). Protects a failing provider from the gateway: retries
/// and timeouts are the HTTP clients' pipelines (<see cref="ProviderHttp"/>), which retry a client-credentials call on
/// a transient failure and never a refresh; after a temporary failure every call during a cool-down (the provider's
/// <c>Retry-After</c>, at least <see cref="Cooldown"/>) answers "unavailable" without touching the network; after the
/// provider refused the client itself, calls back off exponentially from <see cref="Cooldown"/> to
/// <see cref="MaxBackoff"/> until one succeeds.
/// <para>
/// The cool-down and the client back-off are kept here rather than in a Polly circuit breaker: Polly v8's breaker
/// opens only after a sampling window has seen at least two calls (its <c>MinimumThroughput</c> cannot be below 2),
/// but the first failure must pause every session, because each further call would send another refresh token to a
/// provider that is down or asked us to wait. And the client back-off grows only while the provider refuses the client
/// and marks readiness (<see cref="ClientRejection"/>), which a breaker's state cannot tell.
/// </para>
/// </summary>
internal sealed class TokenEndpointClient(
    IHttpClientFactory httpClientFactory,
    ProviderMetadata metadata,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    ILogger<TokenEndpointClient> logger)
{
    /// <summary>How long token calls pause after the provider failed (at least; a longer Retry-After is honoured).</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(5);

    /// <summary>The longest pause, whatever the provider's Retry-After or however long it keeps refusing the client.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>How long a session (or the gateway, for client credentials) waits before asking again for a target the provider refused.</summary>
    public static readonly TimeSpan RefusalCooldown = TimeSpan.FromMinutes(1);

    /// <summary>Lifetime assumed when a token response carries no <c>expires_in</c>.</summary>
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(5);

    /// <summary>The errors RFC 6749 (section 5.2) and RFC 8707 define; any other error on a refresh is read as a dead grant.</summary>
    private static readonly HashSet<string> RequestErrors = new(StringComparer.Ordinal)
    {
        "invalid_request", "invalid_scope", "invalid_target", "unsupported_grant_type",
    };

    private readonly Lock _clientGate = new();
    private long _pausedUntilUtcTicks;
    private DateTimeOffset _clientPausedUntil;
    private TimeSpan _clientBackoff;
    private string? _clientRejection;

    /// <summary>
    /// The OAuth error with which the provider last refused the client's credentials, until a token call succeeds
    /// again; null while the client is accepted. Readiness reports it.
    /// </summary>
    public string? ClientRejection => Volatile.Read(ref _clientRejection);

    public Task<TokenCallResult> RefreshAsync(string refreshToken, TokenTarget target, CancellationToken cancellationToken) =>
        CallAsync(refreshToken, target, cancellationToken);

    public Task<TokenCallResult> ClientCredentialsAsync(TokenTarget target, CancellationToken cancellationToken) =>
        CallAsync(refreshToken: null, target, cancellationToken);

    /// <summary>
    /// What a failed token-endpoint answer means (<paramref name="status"/> 0: no HTTP answer at all). A refresh answered
    /// 400/401 without a known OAuth error is final (RFC 6749 section 5.2), never "try later".
    /// </summary>
    internal static TokenCallStatus Classify(int status, string? error, bool refresh)
    {
        if (status is 0 or 408 or 429 or >= 500)
        {
            return TokenCallStatus.Unavailable;
        }

        if (error is "invalid_client" or "unauthorized_client")
        {
            return TokenCallStatus.ClientRejected;
        }

        var knownRequestError = error is not null && RequestErrors.Contains(error);
        return refresh && status is 400 or 401 && !knownRequestError ? TokenCallStatus.GrantRejected : TokenCallStatus.Refused;
    }

    private async Task<TokenCallResult> CallAsync(string? refreshToken, TokenTarget target, CancellationToken cancellationToken)
    {
        var grant = refreshToken is null ? "client_credentials" : "refresh_token";
        if (Paused() is { } paused)
        {
            return paused;
        }

        var provider = await metadata.GetAsync(cancellationToken);
        var endpoint = provider.Configuration?.TokenEndpoint;
        if (string.IsNullOrEmpty(endpoint))
        {
            BffLog.TokenEndpointUnavailable(logger, grant, provider.Succeeded ? "no token_endpoint in metadata" : "metadata unavailable", 0);
            return Pause(TimeSpan.Zero);
        }

        using var response = await SendAsync(endpoint, refreshToken, target, cancellationToken);
        if (response is null)
        {
            // Timed out: the provider may have processed it, so the call is not repeated (a refresh token may be spent).
            BffLog.TokenEndpointUnavailable(logger, grant, "timeout", 0);
            return Pause(TimeSpan.Zero);
        }

        var status = (int)response.HttpStatusCode;
        if (!response.IsError)
        {
            if (string.IsNullOrEmpty(response.AccessToken))
            {
                BffLog.TokenEndpointRefused(logger, grant, "(no access_token)", status);
                return new TokenCallResult(TokenCallStatus.Refused, null, RefusalCooldown);
            }

            ClientAccepted();
            var lifetime = response.ExpiresIn > 0 ? TimeSpan.FromSeconds(response.ExpiresIn) : DefaultLifetime;
            return new TokenCallResult(
                TokenCallStatus.Succeeded,
                new IssuedTokens(response.AccessToken, lifetime, NullIfEmpty(response.RefreshToken), NullIfEmpty(response.IdentityToken), NullIfEmpty(response.Scope),
                    DPoP.DPoPTokenRequestHandler.BoundThumbprint(response.HttpResponse, response.TokenType)));
        }

        var error = status == 0 ? null : OAuthError(response);
        switch (Classify(status, error, refreshToken is not null))
        {
            case TokenCallStatus.GrantRejected:
                if (!string.Equals(error, "invalid_grant", StringComparison.Ordinal))
                {
                    BffLog.RefreshTokenRefused(logger, status, error ?? "(none)");
                }

                return new TokenCallResult(TokenCallStatus.GrantRejected, null);
            case TokenCallStatus.ClientRejected:
                return RejectClient(grant, error!, status);
            case TokenCallStatus.Refused:
                BffLog.TokenEndpointRefused(logger, grant, error ?? "(no OAuth error)", status);
                return new TokenCallResult(TokenCallStatus.Refused, null, RefusalCooldown);
        }

        BffLog.TokenEndpointUnavailable(logger, grant, response.Exception?.GetType().Name ?? error ?? response.ErrorType.ToString(), status);
        return Pause(RetryAfter(response));
    }

    /// <summary>
    /// The request names only the client id: its credentials are added by <see cref="ClientAuthenticationHandler"/> on
    /// the HTTP client, as for every call to the provider.
    /// </summary>
    private async Task<TokenResponse?> SendAsync(string endpoint, string? refreshToken, TokenTarget target, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        try
        {
            if (refreshToken is not null)
            {
                // The client that never retries: the provider may have rotated the refresh token on a failed attempt.
                var once = httpClientFactory.CreateClient(ProviderHttp.ClientName);
                using var refresh = new RefreshTokenRequest
                {
                    Address = endpoint,
                    ClientId = settings.ClientId!,
                    ClientCredentialStyle = ClientCredentialStyle.PostBody,
                    RefreshToken = refreshToken,
                    Scope = target.Scope,
                };
                AddResource(refresh.Resource, target);
                refresh.Options.Set(DPoP.DPoPTokenRequestHandler.WithoutProof, target.WithoutDPoP);
                return TimedOut(await once.RequestRefreshTokenAsync(refresh, cancellationToken));
            }

            using var credentials = new ClientCredentialsTokenRequest
            {
                Address = endpoint,
                ClientId = settings.ClientId!,
                ClientCredentialStyle = ClientCredentialStyle.PostBody,
                Scope = target.Scope,
            };
            AddResource(credentials.Resource, target);
            credentials.Options.Set(DPoP.DPoPTokenRequestHandler.WithoutProof, target.WithoutDPoP);
            var retrying = httpClientFactory.CreateClient(ProviderHttp.RetryingClientName);
            return TimedOut(await retrying.RequestClientCredentialsTokenAsync(credentials, cancellationToken));
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>The pipeline's timeout (<see cref="ProviderHttp.Timeout"/>) as the library reports it: null.</summary>
    private static TokenResponse? TimedOut(TokenResponse response) =>
        response.Exception is TimeoutRejectedException ? null : response;

    private static void AddResource(ICollection<string> resources, TokenTarget target)
    {
        if (target.Resource is { } resource)
        {
            resources.Add(resource);
        }
    }

    /// <summary>The result to answer without calling the provider, while a cool-down or the client back-off lasts.</summary>
    private TokenCallResult? Paused()
    {
        var now = timeProvider.GetUtcNow();
        var until = Volatile.Read(ref _pausedUntilUtcTicks);
        var pausedFor = until == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(until - now.UtcTicks);
        TimeSpan backoffFor;
        lock (_clientGate)
        {
            backoffFor = _clientRejection is null ? TimeSpan.Zero : _clientPausedUntil - now;
        }

        if (backoffFor > TimeSpan.Zero && backoffFor >= pausedFor)
        {
            return new TokenCallResult(TokenCallStatus.ClientRejected, null, backoffFor);
        }

        return pausedFor > TimeSpan.Zero ? TokenCallResult.Unavailable(pausedFor) : null;
    }

    private TokenCallResult Pause(TimeSpan retryAfter)
    {
        var pause = retryAfter < Cooldown ? Cooldown : retryAfter > MaxBackoff ? MaxBackoff : retryAfter;
        Volatile.Write(ref _pausedUntilUtcTicks, (timeProvider.GetUtcNow() + pause).UtcTicks);
        BffLog.TokenCallsPaused(logger, (int)Math.Ceiling(pause.TotalSeconds));
        return TokenCallResult.Unavailable(pause);
    }

    /// <summary>
    /// Starts or lengthens the gateway-wide back-off. One error line per episode (the operator must fix the client's
    /// registration); the probes that follow, one per back-off, log at debug level.
    /// </summary>
    private TokenCallResult RejectClient(string grant, string error, int status)
    {
        bool episodeStarted;
        TimeSpan backoff;
        lock (_clientGate)
        {
            episodeStarted = _clientRejection is null;
            _clientBackoff = episodeStarted ? Cooldown : TimeSpan.FromTicks(Math.Min(_clientBackoff.Ticks * 2, MaxBackoff.Ticks));
            backoff = _clientBackoff;
            _clientPausedUntil = timeProvider.GetUtcNow() + backoff;
            Volatile.Write(ref _clientRejection, error);
        }

        if (episodeStarted)
        {
            BffLog.ClientCredentialsRejected(logger, grant, error, status);
        }
        else
        {
            BffLog.ClientCredentialsStillRejected(logger, grant, error, (int)backoff.TotalSeconds);
        }

        return new TokenCallResult(TokenCallStatus.ClientRejected, null, backoff);
    }

    private void ClientAccepted()
    {
        if (Volatile.Read(ref _clientRejection) is null)
        {
            return;
        }

        lock (_clientGate)
        {
            if (_clientRejection is null)
            {
                return;
            }

            _clientRejection = null;
            _clientBackoff = TimeSpan.Zero;
        }

        BffLog.ClientCredentialsAccepted(logger);
    }

    /// <summary>
    /// The <c>error</c> member of the answer's JSON body, however the library classified the failure (it reports a
    /// 401 as an HTTP error, not a protocol error, but still parses its body). Logged, so an odd value is cut short:
    /// RFC 6749 error codes are short ASCII words.
    /// </summary>
    private static string? OAuthError(TokenResponse response)
    {
        const int MaxErrorLength = 64;
        try
        {
            var error = response.Json is { ValueKind: JsonValueKind.Object } json
                && json.TryGetProperty("error", out var member) && member.ValueKind == JsonValueKind.String
                ? member.GetString()
                : null;
            if (string.IsNullOrEmpty(error))
            {
                return null;
            }

            return error.Length <= MaxErrorLength && error.All(c => c is >= ' ' and <= '~') ? error : "(unreadable error code)";
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The provider's Retry-After (seconds or a date), or zero.</summary>
    private TimeSpan RetryAfter(TokenResponse response)
    {
        var header = response.HttpResponse?.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? date - timeProvider.GetUtcNow() : TimeSpan.Zero;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
