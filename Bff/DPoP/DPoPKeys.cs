using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Security.Cryptography;
using Bff.Configuration;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Bff.DPoP;

/// <summary>
/// The gateway's DPoP keys: the current one, which new token requests prove possession of, and earlier ones by
/// thumbprint, which sessions whose tokens are still bound to them keep using until those tokens are renewed.
/// <para>
/// From files (<c>Bff:DPoP:KeyFile</c>, <c>PreviousKeyFiles</c>), or generated: a replica that finds no current key
/// (or one older than <c>Bff:DPoP:KeyLifetime</c>) in the session store's <see cref="IDPoPKeyStore"/> generates one,
/// encrypts it with Data Protection (whose key ring the replicas share) and promotes it only if no other replica did
/// meanwhile; every replica then loads the winner. The store is read again every <see cref="RecheckInterval"/>, so a
/// rotation reaches all replicas within that time.
/// </para>
/// </summary>
internal sealed class DPoPKeys(
    IOptions<BffOptions> options,
    IServiceProvider services,
    IDataProtectionProvider dataProtection,
    TimeProvider timeProvider,
    ILogger<DPoPKeys> logger) : IDisposable
{
    /// <summary>The Data Protection purpose of stored keys: names the stored format, so never the code's namespace.</summary>
    public const string Purpose = "Bff.DPoP.Key.v1";

    public static readonly TimeSpan RecheckInterval = TimeSpan.FromMinutes(5);

    /// <summary>How soon an unknown thumbprint may make the store be read again (another replica may just have promoted it).</summary>
    public static readonly TimeSpan MissRecheckInterval = TimeSpan.FromSeconds(5);

    private const byte FormatVersion = 1;

    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly List<DPoPKey> _owned = [];
    private Snapshot? _snapshot;

    private sealed record Snapshot(DPoPKey Current, FrozenDictionary<string, DPoPKey> ByThumbprint, DateTimeOffset LoadedAt, bool FromFiles);

    private DPoPSettings Settings => options.Value.DPoP;

    public bool Enabled => Settings.Enabled;

    /// <summary>The key last loaded as current, without waiting; null before the first load.</summary>
    public DPoPKey? CurrentOrNull => Volatile.Read(ref _snapshot)?.Current;

    /// <summary>The key new tokens are bound to. Throws <see cref="DPoPKeyUnavailableException"/> when none can be had.</summary>
    public async ValueTask<DPoPKey> GetCurrentAsync(CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is not null && (snapshot.FromFiles || timeProvider.GetUtcNow() - snapshot.LoadedAt < RecheckInterval))
        {
            return snapshot.Current;
        }

        return (await LoadAsync(snapshot, cancellationToken)).Current;
    }

    /// <summary>The key a token is bound to; null when no kept key has that thumbprint (read again from the store once).</summary>
    public async ValueTask<DPoPKey?> FindAsync(string thumbprint, CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is not null && snapshot.ByThumbprint.TryGetValue(thumbprint, out var key))
        {
            return key;
        }

        // Files never change while running; and a store read just now would not know it either: a session bound to a
        // lost key must not turn every one of its calls into a store read.
        if (snapshot is { FromFiles: true } || (snapshot is not null && timeProvider.GetUtcNow() - snapshot.LoadedAt < MissRecheckInterval))
        {
            return null;
        }

        try
        {
            snapshot = await LoadAsync(snapshot, cancellationToken, force: true);
        }
        catch (DPoPKeyUnavailableException)
        {
            return null;
        }

        return snapshot.ByThumbprint.GetValueOrDefault(thumbprint);
    }

    private async Task<Snapshot> LoadAsync(Snapshot? seen, CancellationToken cancellationToken, bool force = false)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            var snapshot = Volatile.Read(ref _snapshot);
            if (!ReferenceEquals(snapshot, seen) && snapshot is not null)
            {
                return snapshot; // loaded by another caller meanwhile
            }

            snapshot = Settings.KeyFile is not null ? LoadFiles() : await LoadStoreAsync(snapshot, force, cancellationToken);
            if (!ReferenceEquals(snapshot, seen) && snapshot.Current.Thumbprint != seen?.Current.Thumbprint)
            {
                DPoPLog.KeyInUse(logger, snapshot.Current.Thumbprint, snapshot.Current.Algorithm.ToString(), snapshot.FromFiles ? "key file" : "key store");
            }

            Volatile.Write(ref _snapshot, snapshot);
            return snapshot;
        }
        finally
        {
            _loading.Release();
        }
    }

    private Snapshot LoadFiles()
    {
        var settings = Settings;
        var now = timeProvider.GetUtcNow();
        var byThumbprint = new Dictionary<string, DPoPKey>(StringComparer.Ordinal);
        DPoPKey? current = null;
        foreach (var path in settings.PreviousKeyFiles.Prepend(settings.KeyFile!))
        {
            // Validated at start-up; a file that became unreadable since is an operator's problem to see now.
            var loaded = DPoPSettings.TryLoadKey(path, settings.Algorithm, out var problem)
                ?? throw new DPoPKeyUnavailableException($"The DPoP key file {problem}.");
            var key = Own(new DPoPKey(loaded, settings.Algorithm, now));
            current ??= key;
            byThumbprint.TryAdd(key.Thumbprint, key);
        }

        return new Snapshot(current!, byThumbprint.ToFrozenDictionary(StringComparer.Ordinal), now, FromFiles: true);
    }

    private async Task<Snapshot> LoadStoreAsync(Snapshot? previous, bool force, CancellationToken cancellationToken)
    {
        var settings = Settings;
        var store = services.GetRequiredKeyedService<IDPoPKeyStore>(options.Value.Session.Store);
        var protector = dataProtection.CreateProtector(Purpose);
        var now = timeProvider.GetUtcNow();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            DPoPKeyStoreState state;
            try
            {
                state = await store.LoadAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (previous is not null && !force)
                {
                    // Keep signing with what every replica already uses; look again at the next interval.
                    DPoPLog.KeyStoreUnavailable(logger, ex.GetType().Name, "the keys loaded earlier stay in use");
                    return previous with { LoadedAt = now };
                }

                DPoPLog.KeyStoreUnavailable(logger, ex.GetType().Name, "no DPoP key is available, token requests fail until it can be read");
                throw new DPoPKeyUnavailableException("The DPoP key store is unavailable.", ex);
            }

            var byThumbprint = new Dictionary<string, DPoPKey>(StringComparer.Ordinal);
            foreach (var (thumbprint, protectedKey) in state.ProtectedKeys)
            {
                if (previous?.ByThumbprint.TryGetValue(thumbprint, out var known) == true)
                {
                    byThumbprint[thumbprint] = known;
                }
                else if (Unprotect(protector, protectedKey) is { } key && key.Thumbprint == thumbprint)
                {
                    byThumbprint[thumbprint] = Own(key);
                }
            }

            var current = state.Current is not null ? byThumbprint.GetValueOrDefault(state.Current) : null;
            if (current is not null && (current.CreatedAt + settings.KeyLifetime > now || attempt > 0))
            {
                return new Snapshot(current, byThumbprint.ToFrozenDictionary(StringComparer.Ordinal), now, FromFiles: false);
            }

            // None yet, unreadable, or due for rotation: propose a new key; the first replica to promote one wins.
            var generated = DPoPKey.Generate(settings.Algorithm, now);
            bool promoted;
            try
            {
                promoted = await store.TryPromoteAsync(state.Current, generated.Thumbprint, Protect(protector, generated), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                generated.Dispose();
                DPoPLog.KeyStoreUnavailable(logger, ex.GetType().Name, "the new DPoP key could not be stored");
                if (current is not null)
                {
                    return new Snapshot(current, byThumbprint.ToFrozenDictionary(StringComparer.Ordinal), now, FromFiles: false);
                }

                throw new DPoPKeyUnavailableException("The DPoP key store is unavailable.", ex);
            }

            if (promoted)
            {
                DPoPLog.KeyGenerated(logger, generated.Thumbprint, settings.Algorithm.ToString(), state.Current ?? "(none)");
                byThumbprint[generated.Thumbprint] = Own(generated);
                return new Snapshot(generated, byThumbprint.ToFrozenDictionary(StringComparer.Ordinal), now, FromFiles: false);
            }

            generated.Dispose();
        }

        throw new DPoPKeyUnavailableException("No DPoP key could be agreed on with the other replicas.");
    }

    /// <summary>Version, algorithm, creation time (Unix seconds) and PKCS#8, encrypted as one blob.</summary>
    private static byte[] Protect(IDataProtector protector, DPoPKey key)
    {
        var pkcs8 = key.ExportPrivateKey();
        var plain = new byte[10 + pkcs8.Length];
        try
        {
            plain[0] = FormatVersion;
            plain[1] = (byte)key.Algorithm;
            BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(2), key.CreatedAt.ToUnixTimeSeconds());
            pkcs8.CopyTo(plain, 10);
            return protector.Protect(plain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private DPoPKey? Unprotect(IDataProtector protector, byte[] protectedKey)
    {
        byte[]? plain = null;
        try
        {
            plain = protector.Unprotect(protectedKey);
            if (plain.Length < 11 || plain[0] != FormatVersion || !Enum.IsDefined((DPoPAlgorithm)plain[1]))
            {
                DPoPLog.StoredKeyUnreadable(logger, "UnknownFormat");
                return null;
            }

            var createdAt = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(2)));
            return DPoPKey.Import(plain.AsSpan(10), (DPoPAlgorithm)plain[1], createdAt);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            DPoPLog.StoredKeyUnreadable(logger, ex.GetType().Name);
            return null;
        }
        finally
        {
            if (plain is not null)
            {
                CryptographicOperations.ZeroMemory(plain);
            }
        }
    }

    private DPoPKey Own(DPoPKey key)
    {
        lock (_owned)
        {
            _owned.Add(key);
        }

        return key;
    }

    public void Dispose()
    {
        lock (_owned)
        {
            foreach (var key in _owned)
            {
                key.Dispose();
            }

            _owned.Clear();
        }

        _loading.Dispose();
    }
}

/// <summary>No DPoP key could be loaded or agreed on; token requests that need one fail as "provider unavailable".</summary>
internal sealed class DPoPKeyUnavailableException(string message, Exception? inner = null) : HttpRequestException(message, inner);
