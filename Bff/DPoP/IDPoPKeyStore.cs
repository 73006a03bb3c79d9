namespace Bff.DPoP;

/// <summary>What a key store holds: the thumbprint of the key new tokens are bound to, and every kept key, encrypted.</summary>
internal sealed record DPoPKeyStoreState(string? Current, IReadOnlyDictionary<string, byte[]> ProtectedKeys)
{
    public static readonly DPoPKeyStoreState Empty = new(null, new Dictionary<string, byte[]>());
}

/// <summary>
/// Where a generated DPoP key is kept so that every replica signs with the same one: one store per session store
/// (keyed by <see cref="Configuration.SessionStoreKind"/>), since a session's bound tokens must work wherever the
/// session can be read. Keys arrive already encrypted (<see cref="DPoPKeys"/> protects them with Data Protection);
/// a store never sees a private key in the clear.
/// </summary>
internal interface IDPoPKeyStore
{
    /// <summary>Throws when the store cannot be read (a key is then not generated: it could differ from a replica's).</summary>
    Task<DPoPKeyStoreState> LoadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Adds <paramref name="protectedKey"/> and makes it current, if the current key is still
    /// <paramref name="expectedCurrent"/>; false when another replica got there first (its key is then used).
    /// </summary>
    Task<bool> TryPromoteAsync(string? expectedCurrent, string thumbprint, byte[] protectedKey, CancellationToken cancellationToken);
}

/// <summary>The store of a single replica whose sessions live in its memory: the key lives exactly as long as they do.</summary>
internal sealed class InMemoryDPoPKeyStore : IDPoPKeyStore
{
    private readonly Lock _gate = new();
    private DPoPKeyStoreState _state = DPoPKeyStoreState.Empty;

    public Task<DPoPKeyStoreState> LoadAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_state);
        }
    }

    public Task<bool> TryPromoteAsync(string? expectedCurrent, string thumbprint, byte[] protectedKey, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!string.Equals(_state.Current, expectedCurrent, StringComparison.Ordinal))
            {
                return Task.FromResult(false);
            }

            var keys = new Dictionary<string, byte[]>(_state.ProtectedKeys, StringComparer.Ordinal) { [thumbprint] = protectedKey };
            _state = new DPoPKeyStoreState(thumbprint, keys);
            return Task.FromResult(true);
        }
    }
}
