using Bff.Provider;
using System.Globalization;
using System.Security.Claims;
using Bff.Configuration;
using Bff.Observability;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bff.Sessions;

internal enum SessionIssueOutcome
{
    Created,
    MissingTokens,
    StoreUnavailable,

    /// <summary>The in-memory store holds <see cref="SessionSettings.MaxInMemorySessions"/> sessions.</summary>
    StoreFull,
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
    SessionTermination termination,
    ILogger<SessionIssuer> logger)
{
    /// <summary>At most one line about refused sign-ins a minute: a flood of refusals is a flood of lines otherwise.</summary>
    private readonly LogThrottle _refusals = new(timeProvider, TimeSpan.FromMinutes(1));

    /// <summary>Where the sign-in's token response put the scopes it granted (<see cref="TokenSet.Scope"/>).</summary>
    public const string GrantedScopeItem = "bff.granted_scope";

    /// <summary>Where the sign-in put the thumbprint of the DPoP key its tokens are bound to (<see cref="TokenSet.DPoPKeyThumbprint"/>).</summary>
    public const string DPoPKeyItem = "bff.dpop_jkt";

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
            Scope = properties.Items.TryGetValue(GrantedScopeItem, out var granted) && !string.IsNullOrWhiteSpace(granted) ? granted : null,
            DPoPKeyThumbprint = properties.Items.TryGetValue(DPoPKeyItem, out var jkt) && !string.IsNullOrEmpty(jkt) ? jkt : null,
        };

        var session = new UserSession
        {
            Key = SessionKey.Create(subject),
            PublicId = SessionKey.CreatePublicId(),
            Subject = subject,
            ProviderSessionId = principal.FindFirst("sid")?.Value,
            Claims = SessionClaims.Build(principal, tokens.IdToken, options.Value.Claims.Map),
            CreatedAt = now,
            AbsoluteExpiresAt = now + settings.AbsoluteTimeout,
            IdleExpiresAt = now + settings.IdleTimeout,
            Tokens = tokens,
            Device = DeviceDescription.From(context.Request.Headers.UserAgent.ToString()),
        };

        var previous = cookie.Read(context.Request);
        var outcome = await store.CreateAsync(session, context.RequestAborted);
        if (outcome == StoreOutcome.Full)
        {
            metrics.SessionCapRefused(TelemetryNames.SessionCaps.InMemoryTotal);
            ReportRefusal(subject, settings.MaxInMemorySessions);
            return (SessionIssueOutcome.StoreFull, null);
        }

        if (outcome != StoreOutcome.Ok)
        {
            return (SessionIssueOutcome.StoreUnavailable, null);
        }

        if (previous is not null)
        {
            await store.RemoveAsync(previous, context.RequestAborted);
        }

        await EndOldestSessionsAsync(session, settings.MaxPerSubject, context.RequestAborted);

        cookie.Append(context.Response, session);
        SessionResolver.Remember(context, SessionLookup.Found(session));
        BffLog.SessionCreated(logger, session.LogId, SessionKey.LogId(subject));
        metrics.SessionStarted();
        return (SessionIssueOutcome.Created, session);
    }

    /// <summary>
    /// Ends the subject's oldest sessions beyond the cap as session control ends sessions (<see cref="SessionTermination"/>:
    /// log line and metric per session, refresh token revoked at the provider, best effort), plus one line that says
    /// the cap acted. A store that fails here leaves the sign-in complete: the next one trims.
    /// </summary>
    private async Task EndOldestSessionsAsync(UserSession newest, int limit, CancellationToken cancellationToken)
    {
        var ended = await termination.EndOldestAsync(newest, limit, cancellationToken);
        if (ended.Sessions.Count == 0)
        {
            return;
        }

        metrics.SessionCapEvicted(TelemetryNames.SessionCaps.PerSubject, ended.Sessions.Count);
        BffLog.SessionCapEvicted(logger, SessionKey.LogId(newest.Subject), limit, ended.Sessions.Count);
    }

    private void ReportRefusal(string subject, int limit)
    {
        if (_refusals.Count(out var refused))
        {
            BffLog.SessionCapRefused(logger, limit, refused, SessionKey.LogId(subject));
        }
    }

    private static DateTimeOffset? ParseExpiry(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt) ? expiresAt : null;
}
