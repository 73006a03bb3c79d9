namespace Bff.Sessions;

/// <summary>
/// The <see cref="ITokenReplayCache"/> of the configured session store, chosen at the first call rather than when
/// resolved (see <see cref="InstrumentedSessionStore"/> for why).
/// </summary>
internal sealed class ConfiguredTokenReplayCache(Func<ITokenReplayCache> select) : ITokenReplayCache
{
    private ITokenReplayCache? _selected;

    private ITokenReplayCache Selected => _selected ??= select();

    public ValueTask<ReplayCheck> TryUseAsync(string tokenId, TimeSpan lifetime, CancellationToken cancellationToken) =>
        Selected.TryUseAsync(tokenId, lifetime, cancellationToken);

    public ValueTask ForgetAsync(string tokenId, CancellationToken cancellationToken) => Selected.ForgetAsync(tokenId, cancellationToken);
}
