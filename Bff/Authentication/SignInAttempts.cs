using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using Bff.Sessions;
using Microsoft.AspNetCore.Authentication;

namespace Bff.Authentication;

internal enum SignInAttemptCheck
{
    /// <summary>The first callback for this attempt: redeem its code.</summary>
    FirstUse,

    /// <summary>A callback for this attempt came before: its state is spent.</summary>
    Replayed,

    /// <summary>The attempt is older than the handler's remote-authentication timeout.</summary>
    Expired,

    /// <summary>The store of used attempts could not be asked.</summary>
    Unavailable,
}

/// <summary>
/// Makes a sign-in attempt's state redeemable once and for a bounded time. The correlation cookie alone does not:
/// whoever holds it and the state (a proxy log, a shared machine) could otherwise make the gateway call the token
/// endpoint with a new code on every replay. Each attempt gets a random id and an expiry inside its protected state;
/// the first callback records the id (as a hash, in the replay cache the back-channel logout uses, so in Redis when
/// sessions are) and every later callback with it is refused before the provider is called.
/// </summary>
internal sealed class SignInAttempts(ITokenReplayCache usedAttempts, TimeProvider timeProvider)
{
    public const string IdItem = "bff.attempt";
    public const string ExpiresItem = "bff.attempt_expires";

    /// <summary>Replicas' clocks differ a little: an attempt is remembered this much longer than it can be used.</summary>
    private static readonly TimeSpan ClockAllowance = TimeSpan.FromMinutes(1);

    public void Stamp(AuthenticationProperties properties, TimeSpan lifetime)
    {
        properties.Items[IdItem] = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        properties.Items[ExpiresItem] = (timeProvider.GetUtcNow() + lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }

    /// <param name="properties">The attempt's properties, read from a state whose correlation cookie matched.</param>
    /// <param name="state">The raw state, for an attempt started before attempts were stamped.</param>
    public async ValueTask<SignInAttemptCheck> ConsumeAsync(
        AuthenticationProperties properties, string? state, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        string id;
        DateTimeOffset expiresAt;
        if (properties.Items.TryGetValue(IdItem, out var stamped) && !string.IsNullOrEmpty(stamped)
            && properties.Items.TryGetValue(ExpiresItem, out var expires)
            && long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresSeconds))
        {
            id = stamped;
            expiresAt = DateTimeOffset.FromUnixTimeSeconds(expiresSeconds);
        }
        else
        {
            id = state ?? string.Empty;
            expiresAt = now + lifetime;
        }

        if (expiresAt <= now)
        {
            return SignInAttemptCheck.Expired;
        }

        var check = await usedAttempts.TryUseAsync("signin:" + SessionKey.Hash(id), expiresAt - now + ClockAllowance, cancellationToken);
        return check switch
        {
            ReplayCheck.FirstUse => SignInAttemptCheck.FirstUse,
            ReplayCheck.Replayed => SignInAttemptCheck.Replayed,
            _ => SignInAttemptCheck.Unavailable,
        };
    }
}
