using Bff.Demo.Identity.Configuration;
using Bff.Demo.Identity.Diagnostics;
using Bff.Demo.Identity.Grants;
using Bff.Demo.Identity.Provider;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bff.Demo.Identity.Logout;

/// <summary>
/// Ends a provider login session: revokes its grants and tells every client that took part, with a signed
/// logout token per OpenID Connect Back-Channel Logout 1.0 (section 2.4), POSTed as <c>logout_token</c>.
/// </summary>
internal sealed partial class BackchannelLogout(
    LoginSessions sessions,
    GrantLedger grants,
    SigningKey signingKey,
    IHttpClientFactory httpClientFactory,
    IOptions<DemoIdentityOptions> options,
    DemoStats stats,
    TimeProvider time,
    ILogger<BackchannelLogout> logger)
{
    public const string HttpClientName = "backchannel-logout";
    private const string LogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    public async Task EndSessionAsync(Uri issuer, string sessionId, string subject, CancellationToken cancellationToken)
    {
        grants.RevokeSession(sessionId);

        foreach (var clientId in sessions.End(sessionId))
        {
            var client = options.Value.Client;
            if (!string.Equals(clientId, client.ClientId, StringComparison.Ordinal) || client.BackchannelLogoutUri is null)
            {
                continue;
            }

            var token = CreateLogoutToken(issuer, clientId, subject, sessionId);
            var delivered = await DeliverAsync(new Uri(client.BackchannelLogoutUri), token, clientId, cancellationToken);
            stats.BackchannelLogout(delivered);
        }
    }

    private string CreateLogoutToken(Uri issuer, string clientId, string subject, string sessionId)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            TokenType = "logout+jwt",
            Issuer = issuer.AbsoluteUri,
            Audience = clientId,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(2),
            SigningCredentials = signingKey.Credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = subject,
                ["sid"] = sessionId,
                [JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N"),
                ["events"] = new Dictionary<string, object> { [LogoutEvent] = new Dictionary<string, object>() },
            },
        };

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    private async Task<bool> DeliverAsync(Uri endpoint, string logoutToken, string clientId, CancellationToken cancellationToken)
    {
        try
        {
            using var client = httpClientFactory.CreateClient(HttpClientName);
            using var content = new FormUrlEncodedContent([new KeyValuePair<string, string>("logout_token", logoutToken)]);
            using var response = await client.PostAsync(endpoint, content, cancellationToken);
            LogDelivery(logger, clientId, endpoint, (int)response.StatusCode);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            LogDeliveryFailed(logger, clientId, endpoint, ex.GetType().Name);
            return false;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Back-channel logout for client {ClientId} posted to {Endpoint}: HTTP {StatusCode}.")]
    private static partial void LogDelivery(ILogger logger, string clientId, Uri endpoint, int statusCode);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Back-channel logout for client {ClientId} to {Endpoint} failed: {Failure}.")]
    private static partial void LogDeliveryFailed(ILogger logger, string clientId, Uri endpoint, string failure);
}
