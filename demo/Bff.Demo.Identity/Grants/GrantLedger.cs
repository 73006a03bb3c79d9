using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Bff.Demo.Identity.Grants;

internal enum RedeemOutcome
{
    Redeemed,
    UnknownGrant,
    GrantRevoked,
    ReuseDetected,
}

/// <summary>
/// In-memory bookkeeping that OpenIddict's degraded mode leaves to the host: every sign-in opens a grant; each
/// refresh token belongs to one and may be redeemed once (rotation). Redeeming a refresh token twice is treated
/// as theft and revokes the whole grant, as OAuth 2.0 Security BCP section 4.14 recommends. Tokens are kept
/// only as SHA-256 hashes.
/// </summary>
internal sealed class GrantLedger
{
    /// <summary>Private claim carried by authorization codes and refresh tokens (never by access or identity tokens).</summary>
    public const string GrantIdClaim = "demo_grant_id";

    private readonly ConcurrentDictionary<string, Grant> grants = new(StringComparer.Ordinal);

    public string Open(string subject, string sessionId, string clientId)
    {
        var id = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        grants[id] = new Grant(subject, sessionId, clientId);
        return id;
    }

    public RedeemOutcome RedeemRefreshToken(string? grantId, string refreshToken)
    {
        if (grantId is null || !grants.TryGetValue(grantId, out var grant))
        {
            return RedeemOutcome.UnknownGrant;
        }

        var hash = Hash(refreshToken);
        lock (grant)
        {
            if (grant.Revoked)
            {
                return RedeemOutcome.GrantRevoked;
            }

            if (!grant.RedeemedRefreshTokens.Add(hash))
            {
                grant.Revoked = true;
                return RedeemOutcome.ReuseDetected;
            }

            return RedeemOutcome.Redeemed;
        }
    }

    public bool IsActive(string? grantId) =>
        grantId is not null && grants.TryGetValue(grantId, out var grant) && !grant.Revoked;

    public bool Revoke(string? grantId)
    {
        if (grantId is null || !grants.TryGetValue(grantId, out var grant))
        {
            return false;
        }

        lock (grant)
        {
            var wasActive = !grant.Revoked;
            grant.Revoked = true;
            return wasActive;
        }
    }

    /// <summary>Ends every grant opened in a provider login session (used on logout).</summary>
    public int RevokeSession(string sessionId)
    {
        var count = 0;
        foreach (var (_, grant) in grants)
        {
            if (grant.SessionId == sessionId)
            {
                lock (grant)
                {
                    if (!grant.Revoked)
                    {
                        grant.Revoked = true;
                        count++;
                    }
                }
            }
        }

        return count;
    }

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private sealed class Grant(string subject, string sessionId, string clientId)
    {
        public string Subject { get; } = subject;

        public string SessionId { get; } = sessionId;

        public string ClientId { get; } = clientId;

        public HashSet<string> RedeemedRefreshTokens { get; } = new(StringComparer.Ordinal);

        public bool Revoked { get; set; }
    }
}
