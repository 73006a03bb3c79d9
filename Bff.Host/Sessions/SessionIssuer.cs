using System.Globalization;
using System.Security.Claims;
using Bff.Configuration;
using Bff.Observability;
using Bff.Tokens;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Sessions;

internal enum SessionIssueOutcome
{
    Created,
    MissingTokens,
    StoreUnavailable,
}

/// <summary>
/// Turns a completed sign-in into a new server-side session and its cookie. Every sign-in gets a fresh key, and a
/// session the browser already carried is removed, so a planted cookie is worthless (no fixation).
/// </summary>
internal sealed class SessionIssuer(
    ISessionStore store,
    SessionCookie cookie,
    IOptions<BffOptions> options,
    TimeProvider timeProvider,
    BffMetrics metrics,
    ILogger<SessionIssuer> logger)
{
    /// <summary>Protocol claims that say nothing about the user and only make the session bigger.</summary>
    private static readonly HashSet<string> OmittedClaims = new(StringComparer.Ordinal)
    {
        "nonce", "at_hash", "c_hash", "s_hash", "exp", "iat", "nbf", "aud", "azp", "iss", "jti", "sid", "auth_time",
    };

    public async Task<(SessionIssueOutcome Outcome, UserSession? Session)> IssueAsync(
        HttpContext context, ClaimsPrincipal principal, AuthenticationProperties properties)
    {
        var accessToken = properties.GetTokenValue(OpenIdConnectParameterNames.AccessToken);
        var subject = principal.FindFirst("sub")?.Value;
        if (string.IsNullOrEmpty(accessToken) || string.IsNullOrEmpty(subject))
        {
            return (SessionIssueOutcome.MissingTokens, null);
        }

        var now = timeProvider.GetUtcNow();
        var settings = options.Value.Session;
        var accessTokenExpiresAt = ParseExpiry(properties.GetTokenValue("expires_at")) ?? now.AddMinutes(5);
        var tokens = new TokenSet
        {
            AccessToken = accessToken,
            AccessTokenExpiresAt = accessTokenExpiresAt,
            // expires_at was computed from expires_in a moment ago: whole seconds recover the issued lifetime.
            AccessTokenLifetime = accessTokenExpiresAt > now ? TimeSpan.FromSeconds(Math.Round((accessTokenExpiresAt - now).TotalSeconds)) : null,
            RefreshToken = properties.GetTokenValue(OpenIdConnectParameterNames.RefreshToken),
            IdToken = properties.GetTokenValue(OpenIdConnectParameterNames.IdToken),
        };

        var session = new UserSession
        {
            Key = SessionKey.Create(),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            ProviderSessionId = principal.FindFirst("sid")?.Value,
            Claims = [.. principal.Claims.Where(c => !OmittedClaims.Contains(c.Type)).Select(c => new SessionClaim(c.Type, c.Value))],
            CreatedAt = now,
            AbsoluteExpiresAt = now + settings.AbsoluteTimeout,
            IdleExpiresAt = now + settings.IdleTimeout,
            Tokens = tokens,
        };

        var previous = cookie.Read(context.Request);
        var outcome = await store.CreateAsync(session, context.RequestAborted);
        if (outcome != StoreOutcome.Ok)
        {
            return (SessionIssueOutcome.StoreUnavailable, null);
        }

        if (previous is not null)
        {
            await store.RemoveAsync(previous, context.RequestAborted);
        }

        cookie.Append(context.Response, session);
        SessionResolver.Remember(context, SessionLookup.Found(session));
        BffLog.SessionCreated(logger, session.LogId, SessionKey.LogId(subject));
        metrics.SessionStarted();
        return (SessionIssueOutcome.Created, session);
    }

    private static DateTimeOffset? ParseExpiry(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt) ? expiresAt : null;
}
