using Bff.Configuration;
using Bff.Observability;
using Duende.IdentityModel.Client;
using Microsoft.Extensions.Options;

namespace Bff.Provider;

/// <summary>
/// Revokes a session's refresh token at the provider when the user logs out. Best effort by design: a provider that
/// is down or refuses must not keep the user from logging out locally.
/// </summary>
internal sealed class TokenRevoker(
    IHttpClientFactory httpClientFactory,
    ProviderMetadata metadata,
    IOptions<BffOptions> options,
    ILogger<TokenRevoker> logger)
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);

    public async Task<bool> RevokeAsync(TokenSet tokens, string sessionLogId, CancellationToken cancellationToken)
    {
        var (token, hint) = tokens.RefreshToken is { Length: > 0 } refresh
            ? (refresh, "refresh_token")
            : (tokens.AccessToken, "access_token");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Budget);
        try
        {
            var provider = await metadata.GetAsync(timeout.Token);
            var endpoint = provider.Configuration?.RevocationEndpoint;
            if (string.IsNullOrEmpty(endpoint))
            {
                BffLog.RevocationSkipped(logger, sessionLogId, provider.Succeeded ? "no revocation_endpoint in metadata" : "metadata unavailable");
                return false;
            }

            var settings = options.Value;
            var client = httpClientFactory.CreateClient(ProviderHttp.RetryingClientName);
            using var request = new TokenRevocationRequest
            {
                Address = endpoint,
                ClientId = settings.ClientId!,
                // The credentials are added by ClientAuthenticationHandler on the HTTP client.
                ClientCredentialStyle = ClientCredentialStyle.PostBody,
                Token = token,
                TokenTypeHint = hint,
            };
            var response = await client.RevokeTokenAsync(request, timeout.Token);
            if (response.IsError)
            {
                BffLog.RevocationFailed(logger, sessionLogId, response.ErrorType.ToString(), (int)response.HttpStatusCode);
                return false;
            }

            BffLog.TokenRevoked(logger, sessionLogId, hint);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            BffLog.RevocationFailed(logger, sessionLogId, "Timeout", 0);
            return false;
        }
    }
}
