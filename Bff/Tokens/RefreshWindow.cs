using Bff.Provider;
using System.Collections.Concurrent;
using Bff.Configuration;
using Bff.Observability;
using Microsoft.Extensions.Options;

namespace Bff.Tokens;

/// <summary>
/// When an access token is renewed: <c>Bff:Tokens:RefreshBeforeExpiry</c> before it expires, but never earlier than
/// half its lifetime before. With the configured window alone, a provider issuing tokens that live no longer than the
/// window (60 s tokens against the 60 s default) would have every API call refresh; with the cap, a session refreshes
/// about once per token lifetime whatever the provider issues. A token whose lifetime is unknown (a session saved by
/// an earlier version) keeps the configured window until its first refresh.
/// </summary>
internal sealed class RefreshWindow(IOptions<BffOptions> options, ILogger<RefreshWindow> logger)
{
    /// <summary>Distinct lifetimes logged at most; a provider whose lifetimes vary endlessly does not flood the log.</summary>
    private const int MaxLoggedLifetimes = 16;

    private readonly TimeSpan _configured = options.Value.Tokens.RefreshBeforeExpiry;
    private readonly ConcurrentDictionary<long, byte> _logged = new();
    private long _lastLoggedTicks = -1;

    public static TimeSpan Effective(TimeSpan configured, TimeSpan? lifetime) =>
        lifetime is { } known && known > TimeSpan.Zero && known / 2 < configured ? known / 2 : configured;

    /// <summary>Whether the session's access token is due for renewal at <paramref name="now"/>.</summary>
    public bool IsDue(TokenSet tokens, DateTimeOffset now) => tokens.AccessTokenExpiresAt - For(tokens.AccessTokenLifetime) <= now;

    /// <summary>Whether a cached token may still be forwarded at <paramref name="now"/> without renewing it first.</summary>
    public bool IsUsable(CachedToken token, DateTimeOffset now) => token.ExpiresAt - For(token.Lifetime) > now;

    private TimeSpan For(TimeSpan? lifetime)
    {
        var effective = Effective(_configured, lifetime);
        if (effective != _configured)
        {
            NoteShortened(lifetime!.Value, effective);
        }

        return effective;
    }

    /// <summary>Logs once per distinct lifetime; the common case (the same lifetime again) costs one comparison.</summary>
    private void NoteShortened(TimeSpan lifetime, TimeSpan effective)
    {
        if (Volatile.Read(ref _lastLoggedTicks) == lifetime.Ticks)
        {
            return;
        }

        Volatile.Write(ref _lastLoggedTicks, lifetime.Ticks);
        if (_logged.Count < MaxLoggedLifetimes && _logged.TryAdd(lifetime.Ticks, 0))
        {
            BffLog.RefreshWindowShortened(logger, (int)Math.Round(lifetime.TotalSeconds), effective.TotalSeconds, _configured.TotalSeconds);
        }
    }
}
