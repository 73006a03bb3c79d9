using System.Net;
using Bff.Authentication;
using Bff.Configuration;
using Bff.Observability;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Options;

namespace Bff.Tokens;

internal enum TokenCallStatus
{
    Succeeded,

    /// <summary><c>invalid_grant</c>: the refresh token is revoked, rotated away or expired. Retrying cannot help.</summary>
    GrantRejected,

    /// <summary>The provider refused the request for another reason (client or scope misconfigured).</summary>
    Refused,

    /// <summary>The provider could not be reached, timed out or answered 5xx; the same request may work later.</summary>
    Unavailable,
}

/// <summary>Tokens from a successful token-endpoint call.</summary>
internal sealed record IssuedTokens(string AccessToken, TimeSpan Lifetime, string? RefreshToken, string? IdToken);

internal readonly record struct TokenCallResult(TokenCallStatus Status, IssuedTokens? Tokens, TimeSpan RetryAfter = default)
{
    public static TokenCallResult Unavailable(TimeSpan retryAfter) => new(TokenCallStatus.Unavailable, null, retryAfter);
}

/// <summary>
/// Calls the provider's token endpoint (from discovery) for refresh-token and client-credentials grants. Protects a
/// failing provider from the gateway: at most one quick retry, and only when the first attempt surely did not reach
/// it; after a failure, every call during a short cool-down answers "unavailable" without touching the network.
/// </summary>
internal sealed class TokenEndpointClient(
    IHttpClientFactory httpClientFactory,
    ProviderMetadata metadata,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    ILogger<TokenEndpointClient> logger)
{
    /// <summary>How long token calls pause after the provider failed.</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(5);

    /// <summary>Lifetime assumed when a token response carries no <c>expires_in</c>.</summary>
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(5);

    private long _pausedUntilUtcTicks;

    public Task<TokenCallResult> RefreshAsync(string refreshToken, TokenTarget target, CancellationToken cancellationToken) =>
        CallAsync(refreshToken, target, cancellationToken);

    public Task<TokenCallResult> ClientCredentialsAsync(TokenTarget target, CancellationToken cancellationToken) =>
        CallAsync(refreshToken: null, target, cancellationToken);

    private async Task<TokenCallResult> CallAsync(string? refreshToken, TokenTarget target, CancellationToken cancellationToken)
    {
        var grant = refreshToken is null ? "client_credentials" : "refresh_token";
        var pausedFor = PausedFor();
        if (pausedFor > TimeSpan.Zero)
        {
            return TokenCallResult.Unavailable(pausedFor);
        }

        var provider = await metadata.GetAsync(cancellationToken);
        var endpoint = provider.Configuration?.TokenEndpoint;
        if (string.IsNullOrEmpty(endpoint))
        {
            BffLog.TokenEndpointUnavailable(logger, grant, provider.Succeeded ? "no token_endpoint in metadata" : "metadata unavailable", 0);
            return Pause();
        }

        for (var attempt = 1; ; attempt++)
        {
            using var response = await SendAsync(endpoint, refreshToken, target, cancellationToken);
            if (response is null)
            {
                // Timed out: the provider may have processed it, so a retry could replay a spent refresh token.
                BffLog.TokenEndpointUnavailable(logger, grant, "timeout", 0);
                return Pause();
            }

            if (!response.IsError)
            {
                if (string.IsNullOrEmpty(response.AccessToken))
                {
                    BffLog.TokenEndpointRefused(logger, grant, "(no access_token)", (int)response.HttpStatusCode);
                    return new TokenCallResult(TokenCallStatus.Refused, null);
                }

                var lifetime = response.ExpiresIn > 0 ? TimeSpan.FromSeconds(response.ExpiresIn) : DefaultLifetime;
                return new TokenCallResult(
                    TokenCallStatus.Succeeded,
                    new IssuedTokens(response.AccessToken, lifetime, NullIfEmpty(response.RefreshToken), NullIfEmpty(response.IdentityToken)));
            }

            var status = (int)response.HttpStatusCode;
            if (response.ErrorType == ResponseErrorType.Protocol && status is >= 400 and < 500)
            {
                if (string.Equals(response.Error, "invalid_grant", StringComparison.Ordinal))
                {
                    return new TokenCallResult(TokenCallStatus.GrantRejected, null);
                }

                BffLog.TokenEndpointRefused(logger, grant, response.Error ?? "(none)", status);
                return new TokenCallResult(TokenCallStatus.Refused, null);
            }

            if (status is > 0 and < 500)
            {
                // 4xx without an OAuth error body: not a provider outage, and not worth hammering either.
                BffLog.TokenEndpointRefused(logger, grant, "(no OAuth error)", status);
                return new TokenCallResult(TokenCallStatus.Refused, null);
            }

            BffLog.TokenEndpointUnavailable(logger, grant, response.Exception?.GetType().Name ?? response.ErrorType.ToString(), status);
            if (attempt == 1 && SurelyNotProcessed(response))
            {
                continue;
            }

            return Pause();
        }
    }

    private async Task<TokenResponse?> SendAsync(string endpoint, string? refreshToken, TokenTarget target, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var client = httpClientFactory.CreateClient(ProviderHttp.ClientName);
        try
        {
            if (refreshToken is not null)
            {
                using var refresh = new RefreshTokenRequest
                {
                    Address = endpoint,
                    ClientId = settings.ClientId!,
                    ClientSecret = settings.ClientSecret,
                    RefreshToken = refreshToken,
                    Scope = target.Scope,
                };
                AddResource(refresh.Resource, target);
                return await client.RequestRefreshTokenAsync(refresh, cancellationToken);
            }

            using var credentials = new ClientCredentialsTokenRequest
            {
                Address = endpoint,
                ClientId = settings.ClientId!,
                ClientSecret = settings.ClientSecret,
                Scope = target.Scope,
            };
            AddResource(credentials.Resource, target);
            return await client.RequestClientCredentialsTokenAsync(credentials, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout (ProviderHttp.Timeout) elapsed.
            return null;
        }
    }

    private static void AddResource(ICollection<string> resources, TokenTarget target)
    {
        if (target.Resource is { } resource)
        {
            resources.Add(resource);
        }
    }

    /// <summary>Refused connections and 502/503/504 from an intermediary: the token endpoint never acted on the request.</summary>
    private static bool SurelyNotProcessed(TokenResponse response) =>
        response.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }
        || response.HttpStatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private TimeSpan PausedFor()
    {
        var until = Volatile.Read(ref _pausedUntilUtcTicks);
        return until == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(until - timeProvider.GetUtcNow().UtcTicks);
    }

    private TokenCallResult Pause()
    {
        Volatile.Write(ref _pausedUntilUtcTicks, (timeProvider.GetUtcNow() + Cooldown).UtcTicks);
        BffLog.TokenCallsPaused(logger, (int)Cooldown.TotalSeconds);
        return TokenCallResult.Unavailable(Cooldown);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
